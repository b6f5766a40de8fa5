// The navigation menu of narrow screens: its button shows and hides the sections and the
// user's links (narrow.css hides them while aria-expanded is "false"); Escape closes it and
// puts the focus back on the button.
(function () {
  "use strict";
  function button() {
    return document.getElementById("nav-toggle");
  }
  document.addEventListener("click", function (evt) {
    var toggle = evt.target && evt.target.closest ? evt.target.closest("#nav-toggle") : null;
    if (!toggle) return;
    var open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", open ? "false" : "true");
  });
  document.addEventListener("keydown", function (evt) {
    var toggle = button();
    if (evt.key !== "Escape" || !toggle || toggle.getAttribute("aria-expanded") !== "true") return;
    toggle.setAttribute("aria-expanded", "false");
    toggle.focus();
  });
})();
