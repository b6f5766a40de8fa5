// Container pages: bulk selection on the list, the create form's rows and env file, the
// inspect tree's expand/collapse, copying the docker run command. (No inline script: CSP.)
(function () {
  "use strict";

  // -- the list: selection for bulk actions ---------------------------------------------
  var bulk = document.getElementById("bulk-form");
  if (bulk) {
    var count = document.getElementById("bulk-count");
    var action = document.getElementById("bulk-action");
    var force = document.getElementById("bulk-force");
    var boxes = function () { return document.querySelectorAll('input[name="ids"][form="bulk-form"]'); };
    var update = function () {
      var n = 0;
      boxes().forEach(function (b) { if (b.checked) n++; });
      count.textContent = n ? n + " selected" : "none selected";
    };
    var syncForce = function () { if (force) force.hidden = action.value !== "remove"; };
    action.addEventListener("change", syncForce);
    syncForce();
    document.addEventListener("change", function (evt) {
      var t = evt.target;
      if (t.id === "select-all") {
        boxes().forEach(function (b) { b.checked = t.checked; });
      }
      if (t.id === "select-all" || (t.name === "ids" && t.getAttribute("form") === "bulk-form")) update();
    });
    // A live row update replaces the row: keep its checkbox as the person left it.
    var checked = {};
    document.addEventListener("htmx:oobBeforeSwap", function () {
      checked = {};
      boxes().forEach(function (b) { if (b.checked) checked[b.value] = true; });
    });
    document.addEventListener("htmx:oobAfterSwap", function () {
      boxes().forEach(function (b) { if (checked[b.value]) b.checked = true; });
      update();
    });
    document.addEventListener("htmx:afterSwap", function () { update(); });
  }

  // -- the create form: more rows, env file, retries only with on-failure ----------------
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var prefix = button.getAttribute("data-add-row");
      var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
      var template = document.getElementById(prefix + "-empty");
      var body = document.querySelector('table[data-prefix="' + prefix + '"] tbody');
      var index = parseInt(total.value, 10) || 0;
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      body.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var first = body.lastElementChild.querySelector("input, select");
      if (first) first.focus();
    });
  });
  var envLoad = document.getElementById("env-file-load");
  if (envLoad) {
    envLoad.addEventListener("change", function () {
      var file = envLoad.files && envLoad.files[0];
      if (!file) return;
      file.text().then(function (text) { document.getElementById("id_env_file").value = text; });
    });
  }
  var restart = document.getElementById("id_restart");
  var retries = document.getElementById("id_restart_max");
  if (restart && retries) {
    var sync = function () { retries.disabled = restart.value !== "on-failure"; };
    restart.addEventListener("change", sync);
    sync();
  }

  // -- detail tabs: the inspect tree, copying the docker run command --------------------
  document.addEventListener("click", function (evt) {
    var t = evt.target.closest ? evt.target.closest("[data-tree], [data-copy]") : null;
    if (!t) return;
    if (t.hasAttribute("data-tree")) {
      var open = t.getAttribute("data-tree") === "open";
      document.querySelectorAll("#inspect-tree details").forEach(function (d) { d.open = open; });
    } else {
      var source = document.getElementById(t.getAttribute("data-copy"));
      var note = document.getElementById(t.getAttribute("data-copy") + "-copied");
      var text = source ? source.textContent : "";
      var done = function (ok) { if (note) note.textContent = ok ? "copied" : "select and copy it by hand"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
      } else {
        var range = document.createRange();
        range.selectNodeContents(source);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        done(ok);
      }
    }
  });
})();
