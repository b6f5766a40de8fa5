// Merged logs: a click on a line's container tag shows that container's lines only (and
// lines that arrive later are narrowed the same way); "show all again" undoes it.
(function () {
  "use strict";
  var view = document.getElementById("log-view");
  var undo = document.getElementById("log-unnarrow");
  if (!view) return;
  var only = null;

  function srcOf(node) {
    var tag = node.querySelector(".src");
    return tag ? tag.getAttribute("data-src") : null;
  }
  function apply(node) {
    node.classList.toggle("narrowed", only !== null && srcOf(node) !== only);
  }
  function applyAll() {
    for (var n = view.firstElementChild; n; n = n.nextElementSibling) apply(n);
    view.setAttribute("data-only", only || "");
    if (undo) undo.hidden = only === null;
  }
  view.addEventListener("click", function (evt) {
    var tag = evt.target.closest(".src");
    if (!tag) return;
    only = only === tag.getAttribute("data-src") ? null : tag.getAttribute("data-src");
    applyAll();
  });
  if (undo) undo.addEventListener("click", function () { only = null; applyAll(); });
  new MutationObserver(function (records) {
    if (only === null) return;
    records.forEach(function (r) {
      r.addedNodes.forEach(function (n) { if (n.nodeType === 1) apply(n); });
    });
  }).observe(view, { childList: true });
})();
