// The colour theme. Loaded blocking in <head> (not deferred): it sets data-theme on <html>
// before the body is parsed, so a page never paints in the wrong theme first; a file rather
// than an inline script because the CSP allows scripts from 'self' only.
// The toggle's choice is remembered in localStorage; with none, the system's
// prefers-color-scheme decides, and a change of it applies at once.
(function () {
  "use strict";
  var KEY = "dashboard-theme";
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function saved() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "dark" || value === "light" ? value : null;
    } catch (e) {
      return null; // storage refused (privacy settings): follow the system
    }
  }

  function current() {
    return saved() || (media && media.matches ? "dark" : "light");
  }

  function apply() {
    var theme = current();
    document.documentElement.setAttribute("data-theme", theme);
    var toggle = document.getElementById("theme-toggle");
    if (toggle) toggle.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
  }

  apply();
  if (media && media.addEventListener) media.addEventListener("change", apply);
  // The toggle is parsed after this script ran: set its state once it exists.
  document.addEventListener("DOMContentLoaded", apply);
  document.addEventListener("click", function (evt) {
    var toggle = evt.target && evt.target.closest ? evt.target.closest("#theme-toggle") : null;
    if (!toggle) return;
    try {
      window.localStorage.setItem(KEY, current() === "dark" ? "light" : "dark");
    } catch (e) {
      // Not remembered; this page still switches.
      document.documentElement.setAttribute("data-theme", current() === "dark" ? "light" : "dark");
      return;
    }
    apply();
  });
  // The choice made in another tab applies in this one too.
  window.addEventListener("storage", function (evt) {
    if (evt.key === KEY) apply();
  });
})();
