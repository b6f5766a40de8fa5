// The log viewer: follows a container's log over a websocket, keeps a bounded number of
// lines in the page, sticks to the bottom only while the reader is there, filters, pauses.
(function () {
  "use strict";
  var view = document.getElementById("log-view");
  if (!view) return;
  var MAX = parseInt(view.getAttribute("data-max-lines"), 10) || 5000;
  var SEP = '<div class="l ';
  var stateEl = document.getElementById("log-state");
  var countEl = document.getElementById("log-count");
  var bottomBtn = document.getElementById("log-bottom");
  var pauseBtn = document.getElementById("log-pause");
  var filterInput = document.getElementById("log-filter");
  var regexBox = document.getElementById("log-regex");
  var filterError = document.getElementById("log-filter-error");
  var paused = false;
  var queued = [];      // html batches received while paused
  var queuedLines = 0;
  var matcher = null;   // function(text) -> bool, or null for no filter
  var received = 0;

  function setState(state, text) {
    stateEl.className = "live " + state;
    stateEl.textContent = text;
  }

  // Keep only the last `max` lines of a batch before it touches the DOM.
  function lastLines(html, n, max) {
    if (n <= max) return html;
    var parts = html.split(SEP);
    return SEP + parts.slice(parts.length - max).join(SEP);
  }

  function applyFilter(node) {
    if (!matcher) { node.classList.remove("hide"); return; }
    node.classList.toggle("hide", !matcher(node.textContent));
  }

  function atBottom() {
    return view.scrollTop + view.clientHeight >= view.scrollHeight - 40;
  }

  function append(html, n) {
    var stick = atBottom();
    var before = view.lastElementChild;
    view.insertAdjacentHTML("beforeend", lastLines(html, n, MAX));
    if (matcher) {
      var node = before ? before.nextElementSibling : view.firstElementChild;
      for (; node; node = node.nextElementSibling) applyFilter(node);
    }
    var excess = view.childElementCount - MAX;
    if (excess > 0) {
      var range = document.createRange();
      range.setStartBefore(view.firstElementChild);
      range.setEndAfter(view.children[excess - 1]);
      range.deleteContents();
    }
    countEl.textContent = String(view.childElementCount);
    if (stick) view.scrollTop = view.scrollHeight;
    bottomBtn.hidden = stick || atBottom();  // stuck to the bottom: no second layout read
  }

  // Batches that arrived since the last frame: applied together, in one DOM insertion and
  // one layout, however many messages came (a merged view gets one per container).
  var incoming = [];
  var incomingLines = 0;
  var frameAsked = false;

  function applyIncoming() {
    frameAsked = false;
    if (!incoming.length) return;
    var html = incoming.map(function (b) { return b[0]; }).join("");
    var n = incomingLines;
    incoming = []; incomingLines = 0;
    append(html, n);
  }

  function enqueue(html, n) {
    incoming.push([html, n]);
    incomingLines += n;
    // A hidden tab gets no frames: keep at most MAX lines waiting, as when paused.
    while (incoming.length > 1 && incomingLines - incoming[0][1] >= MAX) {
      incomingLines -= incoming.shift()[1];
    }
    if (frameAsked) return;
    frameAsked = true;
    requestAnimationFrame(applyIncoming);
    setTimeout(applyIncoming, 250);  // no frames in a hidden tab: apply anyway, now and then
  }

  function onMessage(evt) {
    var msg = JSON.parse(evt.data);
    if (msg.status) {
      var st = msg.status.state;
      setState(st === "live" ? "live" : st, st === "live" ? "● following" : msg.status.text);
    }
    if (msg.lines) {
      received += msg.n || 0;
      view.setAttribute("data-received", String(received));
      if (paused) {
        queued.push([msg.lines, msg.n]);
        queuedLines += msg.n;
        while (queuedLines - queued[0][1] >= MAX) queuedLines -= queued.shift()[1];
        pauseBtn.textContent = "Resume (" + queuedLines + " new)";
      } else {
        enqueue(msg.lines, msg.n);
      }
    }
  }

  function connect() {
    dashboardWs.open(view.getAttribute("data-ws"), {
      onMessage: onMessage,
      onClose: function (evt, next) {
        if (next === "refused") setState("error", dashboardWs.refusal(evt.code));
        else setState("reconnecting", "reconnecting…");
      },
    });
  }

  pauseBtn.addEventListener("click", function () {
    paused = !paused;
    pauseBtn.setAttribute("aria-pressed", String(paused));
    if (!paused) {
      queued.forEach(function (b) { enqueue(b[0], b[1]); });
      queued = []; queuedLines = 0;
      pauseBtn.textContent = "Pause";
    } else {
      pauseBtn.textContent = "Resume";
    }
  });

  function rebuildFilter() {
    var text = filterInput.value;
    filterError.textContent = "";
    if (!text) { matcher = null; }
    else if (regexBox.checked) {
      try {
        var re = new RegExp(text, "i");
        matcher = function (s) { return re.test(s); };
      } catch (e) {
        filterError.textContent = "Not a valid regular expression: " + e.message;
        return;
      }
    } else {
      var needle = text.toLowerCase();
      matcher = function (s) { return s.toLowerCase().indexOf(needle) !== -1; };
    }
    for (var n = view.firstElementChild; n; n = n.nextElementSibling) applyFilter(n);
    bottomBtn.hidden = atBottom();
  }
  filterInput.addEventListener("input", rebuildFilter);
  regexBox.addEventListener("change", rebuildFilter);

  function toggleClass(id, cls, whenChecked) {
    var box = document.getElementById(id);
    var sync = function () {
      var stick = atBottom();
      view.classList.toggle(cls, box.checked === whenChecked);
      if (stick) view.scrollTop = view.scrollHeight;
    };
    box.addEventListener("change", sync);
    sync();
  }
  toggleClass("log-timestamps", "show-ts", true);
  toggleClass("log-stdout", "no-out", false);
  toggleClass("log-stderr", "no-err", false);

  // Tail and since change what is read from the engine: load the page with them.
  document.querySelectorAll("#log-options select").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });

  view.addEventListener("scroll", function () { if (atBottom()) bottomBtn.hidden = true; });
  bottomBtn.addEventListener("click", function () {
    view.scrollTop = view.scrollHeight;
    bottomBtn.hidden = true;
  });

  connect();
})();
