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
  var retries = 0;
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

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + view.getAttribute("data-ws");
    var socket = new WebSocket(url);
    socket.onopen = function () { retries = 0; };
    socket.onmessage = onMessage;
    socket.onclose = function (evt) {
      if (finished) return;
      if (evt.code >= 4000 && evt.code < 5000) {
        setState("error", evt.code === 4403 ? "not allowed" : "refused (" + evt.code + ")");
        return;
      }
      if (retries++ < 5) {
        setState("reconnecting", "reconnecting…");
        window.setTimeout(connect, 1000 * retries);
      } else {
        setState("error", "connection lost");
      }
    };
  }
  connect();
})();
