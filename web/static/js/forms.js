/* Progressive enhancement of every form page (forms/templates/forms/macros.html); the pages work without it.
   1. After a failed submit the error summary (right after the page's heading) takes the focus, so the
      screen and a screen reader start there; its links move the focus to the field, its label in view.
   2. Fields that apply to one choice only (data-shown-if) stay hidden until that choice is made; a field
      with an error stays in sight. Stars and aria-required of fields that are required for some choices
      only (data-required-if) follow the choice. Without this file the server already rendered both for
      the choice it knows, and dependent fields carry a hint naming their choice. */
(function () {
  "use strict";

  var CONTROLS = "input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, textarea";

  function captionOf(input) {
    var group = input.closest(".field--group");
    if (group) { return group.querySelector("legend"); }
    return input.id ? document.querySelector('label[for="' + CSS.escape(input.id) + '"]') : null;
  }

  function focusField(event) {
    var link = event.target.closest('a[href^="#"]');
    var target = link && document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!target) { return; }
    var input = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
    if (!input) { return; }
    event.preventDefault();
    (captionOf(input) || input).scrollIntoView({ block: "start" });
    input.focus({ preventScroll: true });
  }

  function summary() {
    var box = document.querySelector("[data-error-summary]");
    if (!box) { return; }
    box.addEventListener("click", focusField);
    box.focus();
  }

  /* Values chosen now in the field named `name`, or null when the page has no such field. */
  function chosen(name) {
    var inputs = document.querySelectorAll('[name="' + CSS.escape(name) + '"]');
    if (!inputs.length) { return null; }
    return Array.prototype.filter.call(inputs, function (el) {
      return (el.type !== "radio" && el.type !== "checkbox") || el.checked;
    }).map(function (el) { return el.value; });
  }

  /* Whether every condition holds; null when one of them depends on a field not on this page. */
  function met(json) {
    var result = true;
    JSON.parse(json).forEach(function (condition) {
      var values = chosen(condition.field);
      if (values === null) { result = result === false ? false : null; return; }
      if (!values.some(function (v) { return condition.values.indexOf(v) >= 0; })) { result = false; }
    });
    return result;
  }

  function update() {
    document.querySelectorAll("[data-shown-if]").forEach(function (el) {
      var ok = met(el.getAttribute("data-shown-if"));
      if (ok !== null) { el.hidden = !ok && !el.querySelector(".field-error"); }
    });
    document.querySelectorAll("[data-required-if]").forEach(function (el) {
      var ok = met(el.getAttribute("data-required-if"));
      if (ok === null) { return; }
      var star = el.querySelector(".required");
      if (star) { star.hidden = !ok; }
      el.querySelectorAll(CONTROLS).forEach(function (input) {
        if (ok) { input.setAttribute("aria-required", "true"); } else { input.removeAttribute("aria-required"); }
      });
    });
  }

  function dependents() {
    if (!document.querySelector("[data-shown-if], [data-required-if]")) { return; }
    document.addEventListener("change", function (event) {
      if (event.target.name) { update(); }
    });
    update();
  }

  dependents();
  summary();
})();
