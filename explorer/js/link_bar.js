// The module of explorer.share.LinkBar: the address bar's query string follows the scenario, and a
// button copies the link.
// Loaded as the widget's _esm (anywidget reads this file); checked by tests/test_js.py (node --check).
function render({ model, el }) {
  const inVoila = document.body && document.body.dataset.voila === "voila";
  const button = document.createElement("button");
  button.className = "jupyter-button ax-copy";
  button.textContent = "Copy link";
  button.title = "Copy a link that opens the explorer with exactly these settings";
  const box = document.createElement("input");
  box.className = "ax-link";
  box.readOnly = true;
  box.setAttribute("aria-label", "Link to these settings");
  const status = document.createElement("span");
  status.className = "ax-copied";
  status.setAttribute("role", "status");
  // what the link does not carry (uploaded files), said beside it and in the button's tooltip
  const note = document.createElement("span");
  note.className = "ax-link-note";
  const showNote = () => {
    const text = model.get("note");
    note.textContent = text;
    note.style.display = text ? "" : "none";
    button.title = text
      ? "Copy a link that opens the explorer with these settings (not your uploaded files)"
      : "Copy a link that opens the explorer with exactly these settings";
  };
  model.on("change:note", showNote);
  const sync = () => {
    const q = model.get("query");
    if (inVoila) {
      const url = new URL(window.location.href);
      url.search = q ? "?" + q : "";
      window.history.replaceState(null, "", url.toString());
      box.value = url.toString();
    } else {
      box.value = q ? "?" + q : "(default settings)";
    }
  };
  button.addEventListener("click", async () => {
    sync();
    box.select();
    let ok = false;
    try { await navigator.clipboard.writeText(box.value); ok = true; } catch (e) {
      try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
    }
    status.textContent = ok ? "Copied" : "Select the link and copy it";
    model.set("copies", model.get("copies") + 1);
    model.save_changes();
    setTimeout(() => { status.textContent = ""; }, 2500);
  });
  // The address bar follows the controls a moment after they move: rewriting it costs the browser a few
  // milliseconds, which would otherwise delay the charts of every slider move.
  let pending = null;
  model.on("change:query", () => {
    clearTimeout(pending);
    pending = setTimeout(sync, 120);
  });
  sync();
  showNote();
  el.classList.add("ax-linkbar");
  el.append(button, box, status, note);
}
export default { render };
