// A log search: hits arrive over the socket grouped by container (each group's heading is
// replaced, its lines appended); Cancel asks the server to stop every engine read.
(function () {
  "use strict";
  var results = document.getElementById("search-results");
  if (!results) return;
  var stateEl = document.getElementById("search-state");
  var totalEl = document.getElementById("search-total");
  var cancelBtn = document.getElementById("search-cancel");
  var socket = null;
  var finished = false;

  function group(id) {
    var g = document.getElementById(id);
    if (!g) {
      g = document.createElement("section");
      g.id = id;
      g.className = "search-group";
      g.innerHTML = '<div class="head"></div><div class="hits"></div>';
      results.appendChild(g);
    }
    return g;
  }
  function finish(done) {
    finished = true;
    stateEl.textContent = done.text;
    stateEl.setAttribute("data-state", done.state);
    cancelBtn.hidden = true;
    if (socket) socket.close();
  }
  function onMessage(evt) {
    var msg = JSON.parse(evt.data);
    (msg.groups || []).forEach(function (g) {
      var el = group(g.id);
      el.querySelector(".head").innerHTML = g.head;
      if (g.lines) el.querySelector(".hits").insertAdjacentHTML("beforeend", g.lines);
    });
    if (typeof msg.total === "number") {
      totalEl.textContent = String(msg.total);
      totalEl.setAttribute("data-total", String(msg.total));
    }
    if (msg.done) finish(msg.done);
    else if (msg.status && msg.status.state === "error") finish(msg.status);
  }
  // A search runs once: a broken socket is not reopened (that would start it again).
  socket = dashboardWs.open(results.getAttribute("data-ws"), {
    reconnect: false,
    onMessage: onMessage,
    onClose: function (evt) {
      if (!finished) finish({ state: "error", text: "The connection closed: " + dashboardWs.refusal(evt.code) });
    },
  });
  cancelBtn.addEventListener("click", function () { socket.send("cancel"); });
})();
