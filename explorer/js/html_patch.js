// The module of explorer.widgets.PatchedHTML: HTML like ipywidgets' HTML widget, but a new value changes
// only the nodes that differ from what the page shows (a slider move changes a few figures' text, not
// the whole headline or table: less for the browser to restyle, lay out and paint).
// Loaded as the widget's _esm (anywidget reads this file); checked by tests/test_js.py (node --check).

function sameKind(a, b) {
  return a.nodeType === b.nodeType && a.nodeName === b.nodeName;
}

function patchAttributes(a, b) {
  for (const { name } of [...a.attributes]) if (!b.hasAttribute(name)) a.removeAttribute(name);
  for (const { name, value } of [...b.attributes]) {
    if (a.getAttribute(name) !== value) a.setAttribute(name, value);
  }
}

// make the children of `shown` (in the page) equal to those of `wanted` (parsed, not in the page)
function patch(shown, wanted) {
  const have = [...shown.childNodes];
  const want = [...wanted.childNodes];
  want.forEach((b, i) => {
    const a = have[i];
    if (!a) shown.appendChild(b);
    else if (!sameKind(a, b)) shown.replaceChild(b, a);
    else if (a.nodeType === Node.ELEMENT_NODE) {
      patchAttributes(a, b);
      patch(a, b);
    } else if (a.nodeValue !== b.nodeValue) a.nodeValue = b.nodeValue;
  });
  for (const a of have.slice(want.length)) shown.removeChild(a);
}

function render({ model, el }) {
  // the classes of ipywidgets' HTML widget, so that the content is styled as it was in one
  el.classList.add("jupyter-widgets", "widget-html", "ax-patched-html");
  const content = document.createElement("div");
  content.className = "widget-html-content";
  el.append(content);
  const show = () => {
    const parsed = document.createElement("template");
    parsed.innerHTML = model.get("value");
    patch(content, parsed.content);
  };
  model.on("change:value", show);
  show();
}

export default { render };
