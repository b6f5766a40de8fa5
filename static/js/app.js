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
  // A message put beside a row fades after a while; the row itself stays as the engine left it.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var el = evt.detail.target;
    if (el && el.classList && (el.classList.contains("row-msg") || el.id === "flash")) {
      window.setTimeout(function () { el.classList.add("fading"); }, 8000);
      el.classList.remove("fading");
    }
  });
})();
