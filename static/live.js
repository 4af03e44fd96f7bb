// Live refresh: the server sends an event over Server-Sent Events when one of the user's
// recorders stores signals; every element with data-live="URL" (and, if set,
// data-live-recorder="ID" matching the event) fetches its fragment again and swaps it in.
// Pages are complete without this script; it only saves reloading.
"use strict";

(function () {
  if (!window.EventSource || !document.querySelector("[data-live]")) {
    return;
  }
  var pending = new Map();

  function refresh(element) {
    if (pending.has(element)) {
      return; // one fetch per burst of events
    }
    pending.set(element, setTimeout(function () {
      pending.delete(element);
      fetch(element.dataset.live, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok || response.redirected) {
            return null; // logged out or gone: leave the page as it is
          }
          return response.text();
        })
        .then(function (html) {
          if (html !== null) {
            element.innerHTML = html;
            element.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
          }
        })
        .catch(function () {});
    }, 100));
  }

  function refreshFor(recorder) {
    document.querySelectorAll("[data-live]").forEach(function (element) {
      var only = element.dataset.liveRecorder;
      if (!recorder || !only || only === recorder) {
        refresh(element);
      }
    });
  }

  var source = new EventSource("/events");
  source.addEventListener("signals", function (event) { refreshFor(event.data); });
  source.addEventListener("refresh", function () { refreshFor(null); });
  source.addEventListener("open", function () { document.documentElement.dataset.live = "on"; });
})();
