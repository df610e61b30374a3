// Keeps parts of a server-rendered page current, without a reload.
//
// A page that wants it marks one element with data-live-url (a JSON endpoint of the app),
// data-live-digest (the digest of the parts as rendered) and data-live-busy ("yes" while
// something is under way, e.g. a goal being computed or a sync queued). The endpoint answers
// {"busy": bool, "digest": str, "fragments": {element id: HTML}}: the HTML is rendered by
// the server from the same templates as the page, so this script only puts it in place,
// and only when the digest changed. It polls every 2 s while busy, every 30 s otherwise.
// Without JavaScript the pages work the same; they just need a reload to show news.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-url]");
  if (!root || !window.fetch) {
    return;
  }
  var url = root.getAttribute("data-live-url");
  var digest = root.getAttribute("data-live-digest") || "";
  var busy = root.getAttribute("data-live-busy") === "yes";
  var FAST_MS = 2000;
  var SLOW_MS = 30000;

  function schedule() {
    window.setTimeout(poll, busy ? FAST_MS : SLOW_MS);
  }

  function apply(data) {
    busy = Boolean(data.busy);
    root.setAttribute("data-live-busy", busy ? "yes" : "no");
    if (!data.digest || data.digest === digest) {
      return;
    }
    var fragments = data.fragments || {};
    Object.keys(fragments).forEach(function (id) {
      var element = document.getElementById(id);
      if (element) {
        element.innerHTML = fragments[id];
      }
    });
    digest = data.digest;
    root.setAttribute("data-live-digest", digest);
  }

  function poll() {
    fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error", // signed out: a redirect to the sign-in page is not JSON
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          apply(data);
        }
      })
      .catch(function () {
        // The app is restarting or the network hiccuped: try again at the next tick.
      })
      .then(schedule);
  }

  schedule();
})();
