/* Staff inbox: notice new tasks without a reload. No framework, no build step; the page works without it.
   Every N seconds (data-interval, 15 s) it asks /inbox/poll for the visible queue's {total, max_id, new}.
   New tasks -> «Новые задачи: N — обновить»; the link refreshes the table in place (or reloads without JS). */
(function () {
  "use strict";
  /* Bulk «Назначить»: offer only people who may take every ticked task (options carry the lane roles
     they may take, rows their lane role); without JS the server refuses the others task by task. */
  function narrowAssignees(root) {
    var select = root.querySelector("#bulk-assignee");
    if (!select) { return; }
    var roles = [];
    Array.prototype.forEach.call(root.querySelectorAll("input[name=ids]:checked"), function (box) {
      var row = box.closest("tr");
      var role = row ? row.getAttribute("data-role") : "";
      if (roles.indexOf(role) < 0) { roles.push(role); }
    });
    Array.prototype.forEach.call(select.querySelectorAll("option[data-task-roles]"), function (option) {
      var can = option.getAttribute("data-task-roles").split(" ");
      var ok = roles.every(function (role) { return can.indexOf(role) >= 0; });
      option.disabled = !ok;
      option.hidden = !ok;
      if (!ok && option.selected) { select.value = ""; }
    });
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      group.hidden = group.querySelector("option:not([hidden])") === null;
    });
  }
  var board = document.getElementById("inbox-results");
  if (board) {
    board.addEventListener("change", function (event) {
      if (event.target.name === "ids") { narrowAssignees(board); }
    });
    narrowAssignees(board);
  }
})();

(function () {
  "use strict";
  var results = document.getElementById("inbox-results");
  var news = document.getElementById("inbox-news");
  if (!results || !news || !window.fetch) { return; }
  var interval = (parseInt(results.getAttribute("data-interval"), 10) || 15) * 1000;

  function anythingPicked() {
    return results.querySelector("input[name=ids]:checked") !== null;
  }

  function refresh() {
    return fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("inbox-results");
        if (!fresh) { return; }
        results.innerHTML = fresh.innerHTML;
        ["data-max-id", "data-total", "data-poll-url"].forEach(function (name) {
          results.setAttribute(name, fresh.getAttribute(name));
        });
        news.hidden = true;
        news.textContent = "";
      });
  }

  function announce(count) {
    news.textContent = "";
    news.appendChild(document.createTextNode("Новые задачи: " + count + " — "));
    var link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = "обновить";
    link.addEventListener("click", function (event) {
      event.preventDefault();
      refresh().catch(function () { window.location.reload(); });
    });
    news.appendChild(link);
    news.hidden = false;
  }

  function poll() {
    var url = results.getAttribute("data-poll-url");
    var since = results.getAttribute("data-max-id") || "0";
    url += (url.indexOf("?") < 0 ? "?" : "&") + "since=" + encodeURIComponent(since);
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var total = parseInt(results.getAttribute("data-total"), 10);
        if (data["new"] > 0) {
          announce(data["new"]);
        } else if (data.total !== total && !anythingPicked()) {
          refresh();  // tasks taken or done by others: quietly bring the table up to date
        }
      })
      .catch(function () { /* offline for a moment: try again at the next tick */ })
      .then(function () { window.setTimeout(poll, interval); });
  }

  window.setTimeout(poll, interval);
}());
