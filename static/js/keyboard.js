// Keyboard: Ctrl/Cmd-K opens the palette (templates/palette/_dialog.html), "/" focuses the
// page's filter, "?" lists the shortcuts. None fires while the person types in a field: a
// terminal or a form needs those keys for itself.
(function () {
  "use strict";

  function typing(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    return !/^(button|submit|reset|checkbox|radio|file|image|range|color)$/i.test(el.type);
  }

  var opener = null; // what had focus before a dialog opened: it gets it back

  function openDialog(dialog) {
    if (!dialog || dialog.open) return;
    opener = document.activeElement;
    dialog.showModal();
  }

  function options(palette) {
    return Array.prototype.slice.call(palette.querySelectorAll("[role=option]"));
  }

  function activate(palette, option) {
    var input = palette.querySelector("[role=combobox]");
    options(palette).forEach(function (o) {
      o.setAttribute("aria-selected", o === option ? "true" : "false");
    });
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function active(palette) {
    return palette.querySelector("[role=option][aria-selected=true]");
  }

  function move(palette, step) {
    var all = options(palette);
    if (!all.length) return;
    var at = all.indexOf(active(palette));
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : (at + step + all.length) % all.length;
    activate(palette, all[next]);
  }

  function openPalette() {
    var palette = document.getElementById("palette");
    if (!palette) return;
    openDialog(palette);
    var input = palette.querySelector("[role=combobox]");
    input.select();
    input.focus();
    // Asks for the pages, and has the server start reading the hosts while keys come.
    if (window.htmx) window.htmx.trigger(input, "palette:open");
  }

  function focusFilter() {
    var filter = document.getElementById("filter-q") ||
      document.querySelector("main input[type=search], main input[name=q]");
    if (!filter) return false;
    filter.focus();
    if (filter.select) filter.select();
    return true;
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.defaultPrevented || evt.isComposing) return;
    if (document.querySelector("dialog[open]")) return; // the open dialog has the keys
    if (typing(evt.target)) return;
    var key = evt.key;
    if ((evt.ctrlKey || evt.metaKey) && !evt.altKey && (key === "k" || key === "K")) {
      evt.preventDefault();
      openPalette();
    } else if (evt.ctrlKey || evt.metaKey || evt.altKey) {
      return;
    } else if (key === "/") {
      if (focusFilter()) evt.preventDefault();
    } else if (key === "?") {
      evt.preventDefault();
      openDialog(document.getElementById("shortcuts"));
    }
  });

  // Inside the palette: arrows move through the options, Enter opens the one chosen,
  // Tab stays inside the dialog; Escape is the dialog's own (it closes).
  document.addEventListener("keydown", function (evt) {
    var palette = evt.target.closest && evt.target.closest("dialog[open]");
    if (!palette) return;
    if (evt.key === "Tab") {
      var focusable = palette.querySelectorAll("input, button, [href]:not([tabindex='-1'])");
      var first = focusable[0];
      var last = focusable[focusable.length - 1];
      if (evt.shiftKey && document.activeElement === first) {
        evt.preventDefault();
        last.focus();
      } else if (!evt.shiftKey && document.activeElement === last) {
        evt.preventDefault();
        first.focus();
      }
      return;
    }
    if (palette.id !== "palette" || evt.target.getAttribute("role") !== "combobox") return;
    if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
      evt.preventDefault();
      move(palette, evt.key === "ArrowDown" ? 1 : -1);
    } else if (evt.key === "Home" && evt.ctrlKey) {
      evt.preventDefault();
      activate(palette, options(palette)[0]);
    } else if (evt.key === "Enter") {
      evt.preventDefault();
      var chosen = active(palette);
      if (chosen) window.location.assign(chosen.href);
    }
  });

  // New results: the first option is the one Enter opens.
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (!evt.detail.target || evt.detail.target.id !== "palette-results") return;
    var palette = document.getElementById("palette");
    activate(palette, options(palette)[0] || null);
  });

  // A pointer may choose too: hovering an option makes it the active one.
  document.addEventListener("mousemove", function (evt) {
    var option = evt.target.closest && evt.target.closest("#palette [role=option]");
    if (option && option.getAttribute("aria-selected") !== "true") {
      activate(document.getElementById("palette"), option);
    }
  });

  document.addEventListener("click", function (evt) {
    // The top bar's Search button: the palette for a pointer or a phone, which has no Ctrl-K.
    if (evt.target.closest && evt.target.closest("[data-open-palette]")) {
      openPalette();
      return;
    }
    var closer = evt.target.closest && evt.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
    // A click on the backdrop (outside the dialog's box) closes it, as Escape does.
    if (evt.target.tagName === "DIALOG" && evt.target.open) {
      var box = evt.target.getBoundingClientRect();
      var inside = evt.clientX >= box.left && evt.clientX <= box.right &&
        evt.clientY >= box.top && evt.clientY <= box.bottom;
      if (!inside) evt.target.close();
    }
  });

  document.addEventListener("close", function (evt) {
    if (evt.target.tagName !== "DIALOG") return;
    if (opener && opener.focus && document.contains(opener)) opener.focus();
    opener = null;
  }, true);
})();
