/* Progressive enhancement of the employee list page while a worker reads an upload: the page works
   without this file (it refreshes itself through <meta http-equiv="refresh">). With it, the counter
   «Проверено N из M строк» is updated in place every second and the page reloads once the check is over. */
(function () {
  "use strict";
  var box = document.getElementById("employees-progress");
  if (!box || !window.fetch) { return; }
  var meta = document.getElementById("refresh-meta");
  if (meta) { meta.parentNode.removeChild(meta); }  // this script refreshes instead
  var url = box.getAttribute("data-progress-url");
  var text = document.getElementById("employees-progress-text");

  function show(state) {
    if (state.total) {
      text.textContent = "Проверено " + state.done + " из " + state.total + " строк";
      var bar = document.getElementById("employees-progress-bar");
      if (!bar) {
        bar = document.createElement("progress");
        bar.id = "employees-progress-bar";
        text.parentNode.insertBefore(bar, text.nextSibling);
      }
      bar.max = state.total;
      bar.value = state.done;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { window.setTimeout(poll, 3000); return; }
        if (state.status !== "checking") { window.location.reload(); return; }
        show(state);
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }

  window.setTimeout(poll, 1000);
})();
