// Small behaviours that need script (kept out of the HTML so the CSP can forbid inline script).
(function () {
  "use strict";
  // An engine that was down: try the page again until it answers.
  document.addEventListener("DOMContentLoaded", function () {
    var retry = document.querySelector("[data-retry]");
    if (retry) {
      var seconds = parseInt(retry.getAttribute("data-retry"), 10) || 5;
      window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
    }
  });
  // The host switcher: go to the same section on the host picked.
  document.addEventListener("change", function (evt) {
    var select = evt.target;
    if (select && select.matches && select.matches("select[data-navigate]") && select.value) {
      window.location.assign(select.value);
    }
  });
  // A message put beside a row fades after a while; the row itself stays as the engine left it.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var el = evt.detail.target;
    if (el && el.classList && (el.classList.contains("row-msg") || el.id === "flash")) {
      window.setTimeout(function () { el.classList.add("fading"); }, 8000);
      el.classList.remove("fading");
    }
  });
})();

// Live rows: an update for a row the page does not show yet (a new container, or one that
// now matches the filter) needs a place to land. Before htmx swaps a message in, give each
// such row an empty placeholder at the top of the table; the out-of-band swap fills it.
document.addEventListener("htmx:wsBeforeMessage", function (evt) {
  var rows = document.getElementById("container-rows");
  if (!rows || typeof evt.detail.message !== "string") return;
  var re = /<tr id="(container-[0-9a-f]{12})"[^>]*data-live="upsert"/g;
  var m;
  while ((m = re.exec(evt.detail.message)) !== null) {
    if (document.getElementById(m[1])) continue;
    var empty = rows.querySelector("tr.empty");
    if (empty) empty.remove();
    var placeholder = document.createElement("tr");
    placeholder.id = m[1];
    rows.insertBefore(placeholder, rows.firstChild);
  }
});

// The events feed keeps a bounded number of entries.
document.addEventListener("htmx:oobAfterSwap", function (evt) {
  var list = document.getElementById("event-list");
  if (!list || evt.detail.target !== list) return;
  var note = list.querySelector(".empty-note");
  if (note) note.remove();
  var max = parseInt(list.getAttribute("data-max"), 10) || 500;
  while (list.childElementCount > max) list.lastElementChild.remove();
});

// CPU and memory of the running containers arrive as one element; fill the visible rows.
document.addEventListener("htmx:wsAfterMessage", function () {
  var holder = document.getElementById("list-stats");
  var raw = holder && holder.getAttribute("data-stats");
  if (!raw) return;
  holder.removeAttribute("data-stats");
  var stats = JSON.parse(raw);
  Object.keys(stats).forEach(function (id) {
    var cpu = document.getElementById("cpu-" + id);
    var mem = document.getElementById("mem-" + id);
    if (cpu) cpu.textContent = stats[id][0];
    if (mem) mem.textContent = stats[id][1];
  });
});
