// The containers list: "Merged log" of the ticked containers (the bulk form's check boxes),
// or of every container when none is ticked.
(function () {
  "use strict";
  var link = document.getElementById("bulk-logs");
  if (!link) return;
  link.addEventListener("click", function (evt) {
    var ids = [];
    document.querySelectorAll('input[name="ids"][form="bulk-form"]:checked').forEach(function (box) {
      ids.push(box.value);
    });
    if (!ids.length) return;  // the link's own address: every container
    evt.preventDefault();
    window.location.href = link.getAttribute("data-base") + "?ids=" + ids.join(",");
  });
})();
