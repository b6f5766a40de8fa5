// The terminal page: xterm.js (vendored) wired to an exec session over a websocket.
// Keystrokes go as binary frames, resizes as {"resize": [rows, cols]}; output comes back as
// binary frames, news as JSON text frames ({"status"}, {"error"}, {"exit"}).
(function () {
  "use strict";
  var el = document.getElementById("terminal");
  if (!el || typeof Terminal === "undefined") return;
  var form = document.getElementById("exec-form");
  var stateEl = document.getElementById("term-state");
  var cmdInput = document.getElementById("exec-cmd");
  var userInput = document.getElementById("exec-user");
  var ttyBox = document.getElementById("exec-tty");
  var eofButton = document.getElementById("exec-eof");
  var encoder = new TextEncoder();
  var session = null;
  var current = "idle";

  var term = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
    theme: { background: "#000000", foreground: "#e5e7eb" },
  });
  var fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(el);
  fit.fit();
  window.__term = term; // for tests and the curious

  function setState(cls, text) {
    current = cls;
    stateEl.className = "live " + cls;
    stateEl.textContent = text;
    el.setAttribute("data-state", cls);
  }

  function send(data) {
    if (session) session.send(data);
  }

  term.onData(function (data) { send(encoder.encode(data)); });
  term.onBinary(function (data) {
    var bytes = new Uint8Array(data.length);
    for (var i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 255;
    send(bytes);
  });
  term.onResize(function (size) { send(JSON.stringify({ resize: [size.rows, size.cols] })); });
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () { fit.fit(); }, 100);
  });

  function connect() {
    if (session) session.close();
    var tty = ttyBox.checked;
    term.options.convertEol = !tty;
    term.reset();
    var query = new URLSearchParams({
      cmd: cmdInput.value, user: userInput.value, tty: tty ? "1" : "0",
      rows: String(term.rows), cols: String(term.cols),
    });
    setState("connecting", "connecting…");
    eofButton.hidden = tty;
    // Never reconnects by itself: a new connection is a new exec, the command run again.
    session = dashboardWs.open(el.getAttribute("data-ws") + "?" + query.toString(), {
      binaryType: "arraybuffer",
      reconnect: false,
      onMessage: onMessage,
      onClose: onClose,
    });
  }

  function onMessage(evt) {
    if (typeof evt.data !== "string") {
      term.write(new Uint8Array(evt.data));
      return;
    }
    var msg = JSON.parse(evt.data);
    if (msg.status === "running") { setState("live", "● connected"); term.focus(); }
    if (msg.error) { setState("error", msg.error); term.write("\r\n\x1b[31m" + msg.error + "\x1b[0m\r\n"); }
    if ("exit" in msg) {
      var code = msg.exit === null ? "unknown" : msg.exit;
      setState("ended", "ended (exit code " + code + ")");
      term.write("\r\n\x1b[2m[session ended, exit code " + code + "]\x1b[0m\r\n");
    }
  }

  function onClose(evt) {
    if (current === "live" || current === "connecting") {
      setState(evt.code === 4403 ? "error" : "ended", evt.code === 4403 ? "not allowed" : "disconnected");
    }
    eofButton.hidden = true;
  }

  form.addEventListener("submit", function (evt) {
    evt.preventDefault();
    connect();
  });
  eofButton.addEventListener("click", function () { send(JSON.stringify({ eof: true })); });
  // Leaving the page ends the session (the server ends the command).
  window.addEventListener("pagehide", function () { if (session) session.close(); });
  if (el.getAttribute("data-autoconnect") === "1") connect();
})();
