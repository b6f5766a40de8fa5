// The run page: a container run once. Its output streams in over a websocket; at the end the
// exit code shows. The server replays everything to a page that (re)connects.
(function () {
  "use strict";
  var view = document.getElementById("run-output");
  if (!view) return;
  var state = document.getElementById("run-state");
  var exitBox = document.getElementById("run-exit");
  var codeEl = document.getElementById("run-code");
  var removedEl = document.getElementById("run-removed");
  var stopForm = document.getElementById("run-stop");
  var finished = false;
  var MAX = 5000;

  function setState(cls, text) {
    state.className = "live " + cls;
    state.textContent = text;
  }

  function onMessage(evt) {
    var msg = JSON.parse(evt.data);
    if (msg.replay) view.innerHTML = "";
    if (msg.lines) {
      var stick = view.scrollTop + view.clientHeight >= view.scrollHeight - 40;
      view.insertAdjacentHTML("beforeend", msg.lines);
      while (view.childElementCount > MAX) view.firstElementChild.remove();
      if (stick) view.scrollTop = view.scrollHeight;
    }
    if (msg.status) {
      var st = msg.status.state;
      setState(st === "running" ? "live" : (st === "exited" ? "ended" : st), msg.status.text);
    }
    if (msg.exit) {
      finished = true;
      exitBox.hidden = false;
      codeEl.textContent = msg.exit.code === null || msg.exit.code === undefined ? "unknown" : String(msg.exit.code);
      exitBox.className = "run-exit " + (msg.exit.code === 0 ? "ok" : "bad");
      removedEl.textContent = msg.exit.removed ? "· the container was removed" : (msg.exit.error || "");
      if (stopForm) stopForm.hidden = true;
    }
    if (msg.status && (msg.status.state === "failed" || msg.status.state === "gone" || msg.status.state === "error")) {
      finished = true;
      if (stopForm) stopForm.hidden = true;
    }
  }

  // The server replays the whole run to a page that comes back: reconnecting loses nothing.
  dashboardWs.open(view.getAttribute("data-ws"), {
    onMessage: onMessage,
    shouldReconnect: function () { return !finished; },
    maxTries: 5,
    onClose: function (evt, next) {
      if (next === "refused") setState("error", dashboardWs.refusal(evt.code));
      else if (next === "retry") setState("reconnecting", "reconnecting…");
      else if (next === "gave-up") setState("error", "connection lost");
    },
  });
})();
