// The module of every explorer.widgets.Chart: imports the kernel's one AltairRuntime bundle (altair's
// JupyterChart code with Vega, offline) once per page and hands the chart to it.
// Pushes are scheduled here: held off screen (data-ax-pending), visibility told to the kernel
// (explorer/live.py); "ax-chart-updated" fires once one is drawn. Options (bench_browser.py
// --variants): globalThis.__accelExplorerCharts {renderer, offscreen, frame}.

const loaded = (globalThis.__accelExplorerAltair ??= new Map());
const PUSH = "change:_py_to_js_updates";

function options() {
  return { frame: false, offscreen: true, renderer: null, ...(globalThis.__accelExplorerCharts ?? {}) };
}

async function carrierOf(model) {
  const id = (model.get("_runtime") || "").replace(/^IPY_MODEL_/, "");
  // opened before the charts, else soon
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

const waiting = new WeakMap(); // element -> its Pushes (one per embed) with rows not drawn

function mark(pushes, pending) {
  const set = waiting.get(pushes.el) ?? new Set();
  waiting.set(pushes.el, set);
  if (pending) set.add(pushes);
  else set.delete(pushes);
  if (pushes.el.hasAttribute("data-ax-pending") !== set.size > 0)
    pushes.el.toggleAttribute("data-ax-pending", set.size > 0);
}

class Pushes {
  constructor(el, handler, model) {
    this.el = el;
    this.handler = handler;
    this.model = model;
    this.view = Math.random().toString(36).slice(2);
    this.pending = new Map();
    this.stale = false; // the kernel has newer rows
    this.visible = true;
    new IntersectionObserver((entries) => {
      this.visible = entries[entries.length - 1].isIntersecting;
      this.report();
      if (this.visible && this.pending.size) this.schedule();
    }).observe(el);
  }

  report() {
    try {
      this.model.send({ ax_view: this.view, visible: this.visible, stale: this.stale });
    } catch (error) {} // a closed comm
  }

  receive(updates) {
    for (const u of updates ?? []) {
      // only the latest rows of each dataset matter
      if (u.namespace === "data" || u.namespace === "signal") {
        this.pending.set(JSON.stringify([u.namespace, u.name, u.scope]), u);
      } else if (u.namespace === "ax-stale") {
        this.stale = true;
        mark(this, true);
        if (this.visible) this.report(); // back on screen since
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
    if (o.frame) requestAnimationFrame(() => this.apply());
    else this.apply();
  }

  async apply() {
    if (!this.pending.size) return;
    const updates = [...this.pending.values()];
    this.pending.clear();
    try {
      await this.handler(updates);
      if (updates.some((u) => u.namespace === "data")) this.stale = false;
    } finally {
      if (!this.pending.size && !this.stale) mark(this, false);
    }
    this.el.dispatchEvent(new CustomEvent("ax-chart-updated", { bubbles: true }));
  }
}

function scheduled(model, el) {
  // pushes reach altair's handler through Pushes; a benchmark may set the renderer
  return new Proxy(model, {
    get(target, prop) {
      if (prop === "on") {
        return (event, callback, context) => {
          if (event !== PUSH) return target.on(event, callback, context);
          const pushes = new Pushes(el, callback, target);
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
