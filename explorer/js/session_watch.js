// The module of explorer.session.SessionWatch: pings the kernel, and shows 'not answering, reload'
// while the answers are overdue (and hides it again when they resume: a busy kernel is not a dead one).
// Loaded as the widget's _esm (anywidget reads this file); checked by tests/test_js.py (node --check).
function render({ model, el }) {
  el.classList.add("ax-session");
  const box = document.createElement("div");
  box.className = "ax-session-lost";
  box.setAttribute("role", "alert");
  box.hidden = true;
  const text = document.createElement("p");
  text.textContent = "This session is not answering: the server stopped or restarted its part of the " +
    "app, or is still busy. Your settings are kept in the address bar; reload to carry on from where " +
    "you were. (This note goes away by itself if the session answers again.)";
  const button = document.createElement("button");
  button.className = "jupyter-button mod-primary ax-reload";
  button.textContent = "Reload";
  button.addEventListener("click", () => window.location.reload());
  box.append(text, button);
  // on the page's body, not in the widget's place: the notebook's scroll box has `contain: strict`, which
  // makes a fixed box fixed to it, so the note scrolled away with the page and a visitor down at the
  // charts never saw it
  (document.body || el).append(box);
  // A kernel busy with a long computation answers late, not never: the note shows while the answers are
  // overdue and goes away when they come back; the pings go on either way.
  // The note's attribute is written only when it changes: a write of the same value is still a change to
  // the page (a mutation record, restyling), every few seconds, in the middle of whatever the visitor does.
  const show = (lost) => { if (box.hidden === lost) box.hidden = !lost; };
  let sent = 0, answered = 0, lastAnswer = Date.now();
  model.on("msg:custom", (msg) => {
    if (msg && typeof msg.pong === "number") {
      answered = Math.max(answered, msg.pong);
      lastAnswer = Date.now();
      if (answered >= sent) show(false);
    }
  });
  const every = Math.max(500, model.get("interval_ms"));
  setInterval(() => {
    show(answered < sent && Date.now() - lastAnswer > model.get("timeout_ms"));
    sent += 1;
    try { model.send({ ping: sent }); } catch (e) { /* a closed comm: the timeout decides */ }
  }, every);
}
export default { render };
