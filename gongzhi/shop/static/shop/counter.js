/* The clerk's counter: scan a pickup QR or a points card with the camera (gongzhi/qr_scan.js); the typed code
   always works. */
(function () {
  "use strict";
  window.gongzhiQrScan({
    button: document.getElementById("scan-start"),
    video: document.getElementById("scan-video"),
    note: document.getElementById("scan-note"),
    // Clerks type or use a hand scanner: the counter only says something when the camera was tried and failed.
    quietWhenUnsupported: true,
    onCode: function (value) {
      var form = document.getElementById("counter-form");
      // One box for both: the server tells a pickup QR from a points card QR by its signature.
      form.querySelector("input[name=code]").value = value;
      form.submit();
    }
  });
})();
