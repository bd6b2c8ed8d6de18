// The module of every explorer.widgets.Chart: a loader that imports the kernel's one AltairRuntime
// bundle (altair's JupyterChart code with Vega, offline) once per page and hands the chart to it.
// Loaded as the widget's _esm (anywidget reads this file); checked by tests/test_js.py (node --check).
//
// Pushes (LiveChart.push) are applied by altair's code, scheduled here: a chart off screen keeps its
// latest push until it scrolls into view (a quarter less browser CPU per request-volume move in a
// 1440x900 window); meanwhile its element carries data-ax-pending, and "ax-chart-updated" fires once a
// push is drawn (tests/journeys.py waits on these). bench_browser.py --variants compares options set in
// globalThis.__accelExplorerCharts: renderer, offscreen, frame (every push in one animation frame:
// measured no better, so off).

const loaded = (globalThis.__accelExplorerAltair ??= new Map());
const PUSH = "change:_py_to_js_updates";

function options() {
  return { frame: false, offscreen: true, renderer: null, ...(globalThis.__accelExplorerCharts ?? {}) };
}

async function carrierOf(model) {
  const id = (model.get("_runtime") || "").replace(/^IPY_MODEL_/, "");
  // created before the charts' (the kernel opens it first); else wait for it a little
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

const waiting = new WeakMap(); // element -> its Pushes with a push not drawn (one per embed)

function mark(pushes, pending) {
  const set = waiting.get(pushes.el) ?? new Set();
  waiting.set(pushes.el, set);
  if (pending) set.add(pushes);
  else set.delete(pushes);
  // a push to a chart already waiting changes nothing on the page
  if (pushes.el.hasAttribute("data-ax-pending") !== set.size > 0)
    pushes.el.toggleAttribute("data-ax-pending", set.size > 0);
}

class Pushes {
  constructor(el, handler) {
    this.el = el;
    this.handler = handler;
    this.pending = new Map();
    this.visible = true;
    new IntersectionObserver((entries) => {
      this.visible = entries[entries.length - 1].isIntersecting;
      if (this.visible && this.pending.size) this.schedule();
    }).observe(el);
  }

  receive(updates) {
    for (const u of updates ?? []) {
      // new rows replace a whole dataset: only the latest of each matters
      if (u.namespace === "data" || u.namespace === "signal") {
        this.pending.set(JSON.stringify([u.namespace, u.name, u.scope]), u);
      }
    }
    if (this.pending.size) {
      mark(this, true);
      this.schedule();
    }
  }

  schedule() {
    const o = options();
    if (o.offscreen && !this.visible) return; // drawn when it scrolls into view
    if (o.frame) requestAnimationFrame(() => this.apply()); // every chart's in the same frame
    else this.apply();
  }

  async apply() {
    if (!this.pending.size) return;
    const updates = [...this.pending.values()];
    this.pending.clear();
    try {
      await this.handler(updates);
    } finally {
      if (!this.pending.size) mark(this, false);
    }
    this.el.dispatchEvent(new CustomEvent("ax-chart-updated", { bubbles: true }));
  }
}

function scheduled(model, el) {
  // the model, but pushes reach altair's handler through Pushes, and a benchmark may set the renderer
  return new Proxy(model, {
    get(target, prop) {
      if (prop === "on") {
        return (event, callback, context) => {
          if (event !== PUSH) return target.on(event, callback, context);
          const pushes = new Pushes(el, callback);
          return target.on(event, () => pushes.receive(target.get("_py_to_js_updates")), context);
        };
      }
      if (prop === "get") {
        return (name) => {
          const value = target.get(name);
          const renderer = options().renderer;
          return name === "embed_options" && renderer ? { ...(value ?? {}), renderer } : value;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
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
  return (module.default ?? module).render({ ...ctx, model: scheduled(ctx.model, ctx.el) });
}

export default { render };
