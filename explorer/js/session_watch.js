// The module of explorer.session.SessionWatch: pings the kernel, and shows 'session ended, reload'
// when the answers stop coming.
// Loaded as the widget's _esm (anywidget reads this file); checked by tests/test_js.py (node --check).
function render({ model, el }) {
  el.classList.add("ax-session");
  const box = document.createElement("div");
  box.className = "ax-session-lost";
  box.setAttribute("role", "alert");
  box.hidden = true;
  const text = document.createElement("p");
  text.textContent = "This session has ended: the server stopped or restarted its part of the app. " +
    "Your settings are kept in the address bar; reload to carry on from where you were.";
  const button = document.createElement("button");
  button.className = "jupyter-button mod-primary ax-reload";
  button.textContent = "Reload";
  button.addEventListener("click", () => window.location.reload());
  box.append(text, button);
  el.append(box);
  let sent = 0, answered = 0, lastAnswer = Date.now();
  model.on("msg:custom", (msg) => {
    if (msg && typeof msg.pong === "number") { answered = msg.pong; lastAnswer = Date.now(); }
  });
  const every = Math.max(500, model.get("interval_ms"));
  const timer = setInterval(() => {
    if (answered < sent && Date.now() - lastAnswer > model.get("timeout_ms")) {
      box.hidden = false;
      clearInterval(timer);
      return;
    }
    sent += 1;
    try { model.send({ ping: sent }); } catch (e) { /* a closed comm: the timeout decides */ }
  }, every);
}
export default { render };
