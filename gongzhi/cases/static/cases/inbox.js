// The unread count in the top bar: fetched after the page has loaded (one COUNT), refreshed every two minutes.
// Without scripts the bell is still a plain link to the inbox.
(function () {
  "use strict";
  var slot = document.querySelector("[data-inbox-badge]");
  if (!slot || !window.fetch) {
    return;
  }
  function refresh() {
    fetch(slot.getAttribute("data-inbox-badge"), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html) { slot.innerHTML = html; } })
      .catch(function () {});
  }
  refresh();
  window.setInterval(function () {
    if (!document.hidden) {
      refresh();
    }
  }, 120000);
})();
