// The module of explorer.share.UploadKeeper: the accepted uploads are kept in the browser tab
// (sessionStorage) and handed to the new kernel after a reload, which checks them again.
// Loaded as the widget's _esm (anywidget reads this file); checked by tests/test_js.py (node --check).
function render({ model, el }) {
  // Only in the Voila app: a reload there starts a new kernel, and this hands it the visitor's uploads.
  if (!(document.body && document.body.dataset.voila === "voila")) return;
  const key = "accel-explorer-uploads:" + window.location.pathname;
  const save = () => {
    try {
      const files = model.get("files");
      if (files.length) sessionStorage.setItem(key, JSON.stringify(files));
      else sessionStorage.removeItem(key);
    } catch (e) { /* storage full or switched off: the uploads are then not kept */ }
  };
  model.on("change:files", save);
  if (model.get("files").length) { save(); return; }
  let kept = null;
  try { kept = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { kept = null; }
  if (Array.isArray(kept) && kept.length) model.send({ kind: "restore", files: kept });
}
export default { render };
