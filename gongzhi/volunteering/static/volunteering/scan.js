/* Check-in from the phone: scan the organiser's rotating QR code (gongzhi/qr_scan.js); the six typed digits always
   work. The QR holds this page's link with the token; we take the token from it and submit. */
(function () {
  "use strict";
  function tokenFrom(value) {
    try { return new URL(value, window.location.href).searchParams.get("token") || value; } catch (e) { return value; }
  }
  window.gongzhiQrScan({
    button: document.getElementById("scan-start"),
    video: document.getElementById("scan-video"),
    note: document.getElementById("scan-note"),
    onCode: function (value) {
      var form = document.getElementById("check-form");
      form.querySelector("input[name=token]").value = tokenFrom(value);
      var action = document.createElement("input");
      action.type = "hidden"; action.name = "action"; action.value = "in";
      form.appendChild(action);
      form.submit();
    }
  });
})();
