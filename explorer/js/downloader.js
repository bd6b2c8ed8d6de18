// The module of explorer.share.Downloader: bytes sent from the kernel become a browser download.
// Loaded as the widget's _esm (anywidget reads this file); checked by tests/test_js.py (node --check).
function render({ model, el }) {
  model.on("msg:custom", (msg) => {
    if (msg.kind !== "download") return;
    const bytes = Uint8Array.from(atob(msg.b64), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: msg.mime }));
    const a = document.createElement("a");
    a.href = url;
    a.download = msg.filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
}
export default { render };
