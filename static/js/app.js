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
// such row an empty placeholder: at the top of the table on the page where new containers
// land (data-insert="1": the first page, newest first), else in a hidden parking table that
// is emptied after the message (other pages of a long list keep to the rows they show).
document.addEventListener("htmx:wsBeforeMessage", function (evt) {
  var rows = document.getElementById("container-rows");
  if (!rows || typeof evt.detail.message !== "string") return;
  var parking = document.getElementById("container-parking");
  var insert = rows.getAttribute("data-insert") !== "0";
  // Also a row deleted out of band (_row_removed.html) that this page never showed: without a
  // place to land htmx logs htmx:oobErrorNoTarget.
  var re = /<tr\s+id="(container-[0-9a-f]{12})"([^>]*)>/g;
  var m;
  while ((m = re.exec(evt.detail.message)) !== null) {
    if (document.getElementById(m[1])) continue;
    var placeholder = document.createElement("tr");
    placeholder.id = m[1];
    if (insert && m[2].indexOf('data-live="upsert"') >= 0) {
      var empty = rows.querySelector("tr.empty");
      if (empty) empty.remove();
      rows.insertBefore(placeholder, rows.firstChild);
    } else if (parking) {
      parking.appendChild(placeholder);
    }
  }
});
document.addEventListener("htmx:wsAfterMessage", function () {
  var parking = document.getElementById("container-parking");
  if (parking) parking.textContent = "";
  // A page of a long list keeps its length: rows pushed past it go to the next page.
  var rows = document.getElementById("container-rows");
  var per = rows && parseInt(rows.getAttribute("data-per"), 10);
  if (!per) return;
  var live = rows.querySelectorAll("tr[data-live]");
  for (var i = per; i < live.length; i++) live[i].remove();
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

// The images list's "used by" column arrives as one element after the rows; fill each cell.
document.addEventListener("htmx:afterSettle", function () {
  var holder = document.getElementById("image-usage");
  var raw = holder && holder.getAttribute("data-usage");
  if (!raw) return;
  holder.removeAttribute("data-usage");
  var usage = JSON.parse(raw);
  document.querySelectorAll("span.users[id^='users-']").forEach(function (cell) {
    var u = usage[cell.id.slice(6)];
    if (u) {
      cell.textContent = u[0] + (u[0] === 1 ? " container" : " containers");
      cell.title = u[1];
      cell.classList.remove("muted");
    } else {
      cell.textContent = "—";
    }
  });
});
