// The module of every explorer.widgets.Chart: imports the kernel's one AltairRuntime bundle (altair's
// JupyterChart code with Vega, offline) once per page and hands the chart to it. The AltairRuntime has this
// module too: its `initialize` starts the import as soon as the runtime's model exists, while the page is
// still making its other widgets, rather than when the first chart is rendered and asks for it.
// Pushes are scheduled here: held off screen (data-ax-pending), visibility told to the kernel
// (explorer/live.py); "ax-chart-updated" fires once one is drawn. The charts of a page are first drawn one
// at a time, in page order, each after the frame showing the one before it and an idle moment: the first
// is drawn, and painted, without the others competing for the main thread. Options (bench_browser.py
// --variants): globalThis.__accelExplorerCharts {renderer, offscreen, frame, hold}; offscreen false draws
// all at once;
// hold (a promise) keeps the first draws waiting until it settles (tests/test_app_browser.py).

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
  return load(await carrierOf(model));
}

function load(carrier) {
  const digest = carrier.get("digest");
  if (!loaded.has(digest)) {
    // from the public server's file (the page's template started loading it: the same module), else from
    // the bundle the runtime carries
    const served = carrier.get("url");
    let module;
    if (served) {
      // absolute: this module is a blob, against which a path cannot be resolved
      module = import(new URL(served, document.baseURI).href);
    } else {
      const url = URL.createObjectURL(new Blob([carrier.get("bundle")], { type: "text/javascript" }));
      module = import(url).finally(() => URL.revokeObjectURL(url));
    }
    module.catch(() => loaded.delete(digest));
    loaded.set(digest, module);
  }
  return loaded.get(digest);
}

// Shared by every chart of the page: anywidget imports this module once per widget model (each chart's
// `_esm` becomes a module of its own), so state kept in the module would be one chart's, and every chart
// would think itself first (all six were drawn in one frame, the first shown only when the last was done).
const shared = (globalThis.__accelExplorerTurns ??= {
  turns: [], // charts waiting for their first draw
  drawing: false,
  handoff: new WeakMap(), // element -> pushes that arrived before its first draw, for its Pushes
  waiting: new WeakMap(), // element -> its Pushes (one per embed) with rows not drawn
});
const { turns, handoff, waiting } = shared;

// -- first draws, one at a time ------------------------------------------------------------------------

function whenIdle(callback) {
  (globalThis.requestIdleCallback ?? ((f) => setTimeout(f, 16)))(callback, { timeout: 1000 });
}

function afterPaint(callback) {
  // the frame showing the chart just drawn is painted first (a task queued from the frame's own callback
  // runs after its paint), then the next chart waits for an idle moment: an idle callback alone may run
  // before that frame, and the user would see no chart until all of them were drawn
  requestAnimationFrame(() => setTimeout(() => whenIdle(callback)));
}

function drawNext() {
  // page order (an element not yet in the page goes last)
  turns.sort((a, b) => (a.el.compareDocumentPosition(b.el) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  const turn = turns.shift();
  if (!turn) {
    shared.drawing = false;
    return;
  }
  // one chart's draw that never settles must not keep the rest of the page's charts waiting
  const stuck = new Promise((resolve) => setTimeout(resolve, 5000));
  Promise.race([Promise.resolve().then(turn.draw), stuck])
    .catch((error) => console.error("accel-explorer: a chart could not be drawn", error)) // the next still is
    .finally(() => (turns.length ? afterPaint(drawNext) : (shared.drawing = false)));
}

function inTurn(el, model, draw) {
  if (!options().offscreen) return draw();
  // a push that arrives before the chart is drawn is kept (the latest rows of each dataset) and handed to
  // the chart's Pushes once drawn: its spec is the page's first
  const held = { updates: new Map(), stale: false };
  const keep = () => {
    for (const u of model.get("_py_to_js_updates") ?? []) {
      if (u.namespace === "data" || u.namespace === "signal") {
        held.updates.set(JSON.stringify([u.namespace, u.name, u.scope]), u);
      } else if (u.namespace === "ax-stale") held.stale = true;
    }
  };
  model.on(PUSH, keep);
  el.toggleAttribute("data-ax-pending", true);
  turns.push({
    el,
    draw: async () => {
      handoff.set(el, held);
      try {
        await draw();
      } finally {
        model.off(PUSH, keep);
        handoff.delete(el);
        if (!(waiting.get(el)?.size > 0)) el.toggleAttribute("data-ax-pending", false);
      }
    },
  });
  if (!shared.drawing) {
    shared.drawing = true;
    // after a frame: the charts created in this task are all queued, and drawn in page order
    Promise.resolve(options().hold).finally(() => requestAnimationFrame(drawNext));
  }
  return undefined;
}

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
    const held = handoff.get(el); // pushes that came while the chart waited for its first draw
    if (held) {
      handoff.delete(el);
      this.stale = held.stale;
      if (held.stale) mark(this, true);
      if (held.updates.size) queueMicrotask(() => this.receive([...held.updates.values()]));
    }
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
  const draw = () => (module.default ?? module).render({ ...ctx, model: scheduled(ctx.model, ctx.el) });
  return inTurn(ctx.el, ctx.model, draw);
}

function initialize({ model }) {
  if (model.get("digest")) load(model); // the runtime's model (a chart's has no digest)
}

export default { initialize, render };
