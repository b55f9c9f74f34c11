// Small progressive enhancements; every page works without this script.
(function () {
  "use strict";
  // Filter selects submit their form at once (the form still has a button when scripts are off).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]") && target.form) {
      if (window.htmx && target.form.hasAttribute("hx-get")) {
        window.htmx.trigger(target.form, "submit");
      } else {
        target.form.submit();
      }
    }
  });
  // Forms that undo something ask first (data-confirm holds the question).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  // "Select all" boxes tick every box named in data-select-all inside the same table.
  document.addEventListener("click", function (event) {
    var box = event.target;
    if (box.matches && box.matches("input[type=checkbox][data-select-all]")) {
      var table = box.closest("table") || document;
      table.querySelectorAll("tbody input[name='" + box.dataset.selectAll + "']").forEach(function (other) {
        other.checked = box.checked;
      });
    }
  });
  // Print buttons.
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print]") : null;
    if (target) {
      event.preventDefault();
      window.print();
    }
  });
})();
