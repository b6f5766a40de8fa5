// The pages' own websockets (htmx's ws extension keeps its own): the address of a path on
// this host, and reconnecting with backoff, written once for the log, run and terminal pages.
// Load it before the page's script (both `defer`: they run in order).
(function () {
  "use strict";
  var FIRST_DELAY = 1000;
  var MAX_DELAY = 15000;

  function url(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  // What to show for a close the server chose (4000-4999: the dashboard's own codes).
  function refusal(code) {
    return code === 4403 ? "not allowed" : "refused (" + code + ")";
  }

  // Open `path` and keep it open. After a close it connects again after 1 s, 2 s, 4 s...
  // (at most 15 s; back to 1 s once a connection opens), unless:
  //   - the server refused (a 4000-4999 close: asking again would get the same answer),
  //   - opts.reconnect is false, or opts.shouldReconnect() says no (e.g. the run ended),
  //   - opts.maxTries attempts in a row have failed.
  // opts.onClose(evt, next) hears every close and what happens next: "retry", "refused",
  // "closed" or "gave-up". opts.onMessage(evt), opts.onOpen(evt), opts.binaryType as for a
  // WebSocket. Returns {send(data), close()}; close() ends it for good.
  function open(path, opts) {
    var delay = FIRST_DELAY;
    var failures = 0;
    var socket = null;
    var timer = null;
    var ended = false;

    function next(evt) {
      if (opts.reconnect === false || (opts.shouldReconnect && !opts.shouldReconnect())) return "closed";
      if (evt.code >= 4000 && evt.code < 5000) return "refused";
      if (opts.maxTries && ++failures > opts.maxTries) return "gave-up";
      return "retry";
    }

    function start() {
      timer = null;
      socket = new WebSocket(url(path));
      if (opts.binaryType) socket.binaryType = opts.binaryType;
      socket.onopen = function (evt) {
        delay = FIRST_DELAY;
        failures = 0;
        if (opts.onOpen) opts.onOpen(evt);
      };
      socket.onmessage = function (evt) { if (!ended) opts.onMessage(evt); };
      socket.onclose = function (evt) {
        if (ended) return;
        var then = next(evt);
        if (opts.onClose) opts.onClose(evt, then);
        if (then !== "retry") return;
        timer = window.setTimeout(start, delay);
        delay = Math.min(delay * 2, MAX_DELAY);
      };
    }

    start();
    return {
      send: function (data) {
        if (ended || !socket || socket.readyState !== WebSocket.OPEN) return false;
        socket.send(data);
        return true;
      },
      close: function () {
        ended = true;
        if (timer) window.clearTimeout(timer);
        if (socket) socket.close();
      },
    };
  }

  window.dashboardWs = { url: url, open: open, refusal: refusal };
})();
