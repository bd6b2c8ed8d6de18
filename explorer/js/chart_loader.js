// The module of every explorer.widgets.Chart: a loader that imports the kernel's one AltairRuntime
// bundle (altair's JupyterChart code with Vega, offline) once per page and hands the chart to it.
// Loaded as the widget's _esm (anywidget reads this file); checked by tests/test_js.py (node --check).

const loaded = (globalThis.__accelExplorerAltair ??= new Map());

async function carrierOf(model) {
  const id = (model.get("_runtime") || "").replace(/^IPY_MODEL_/, "");
  // the runtime's model is created before the charts' (the kernel opens it first); should a page ever
  // build them in another order, wait for it a little rather than fail
  for (let waited = 0; ; waited += 50) {
    try {
      return await model.widget_manager.get_model(id);
    } catch (error) {
      if (waited >= 5000) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function runtime(model) {
  const carrier = await carrierOf(model);
  const digest = carrier.get("digest");
  if (!loaded.has(digest)) {
    const url = URL.createObjectURL(new Blob([carrier.get("bundle")], { type: "text/javascript" }));
    const module = import(url).finally(() => URL.revokeObjectURL(url));
    module.catch(() => loaded.delete(digest));
    loaded.set(digest, module);
  }
  return loaded.get(digest);
}

async function render(ctx) {
  let module;
  try {
    module = await runtime(ctx.model);
  } catch (error) {
    ctx.el.textContent =
      "This chart could not load its drawing code (" + error.message + "). Reload the page.";
    return;
  }
  return (module.default ?? module).render(ctx);
}

export default { render };
