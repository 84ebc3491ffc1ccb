// Live results: each time a source answers, fetch the results part of the page again
// (rendered on the server, the same as without JavaScript) and swap it in.
(function () {
  "use strict";
  var results = document.getElementById("results");
  if (!results || !window.EventSource) { return; }
  var refreshing = false;
  var again = false;
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(results.dataset.fragment, { headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) { results.innerHTML = html; } })
      .finally(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }
  var events = new EventSource(results.dataset.events);
  events.addEventListener("update", refresh);
  events.addEventListener("complete", function () { events.close(); refresh(); });
  events.addEventListener("expired", function () { events.close(); });
})();
