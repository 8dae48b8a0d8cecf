/* Progressive enhancement of the application wizard: the pages work without this file.
   Period step: show only the inputs of the chosen kind («Один месяц» -> month, «Указать даты» -> dates). */
(function () {
  "use strict";
  var radios = document.querySelectorAll('input[name="period.kind"]');
  if (!radios.length) { return; }
  var inputs = { month: ["f-period-month"], custom: ["f-period-from", "f-period-to"] };

  function fieldOf(id) {
    var input = document.getElementById(id);
    return input ? input.closest(".field") : null;
  }

  function update() {
    var chosen = document.querySelector('input[name="period.kind"]:checked');
    var kind = chosen ? chosen.value : "";
    Object.keys(inputs).forEach(function (name) {
      inputs[name].forEach(function (id) {
        var field = fieldOf(id);
        if (field) { field.hidden = name !== kind && !field.classList.contains("field--error"); }
      });
    });
  }

  Array.prototype.forEach.call(radios, function (radio) { radio.addEventListener("change", update); });
  update();
})();
