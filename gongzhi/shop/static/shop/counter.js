/* The clerk's counter: scan a pickup QR or a points card with the camera where the browser can (BarcodeDetector,
   HTTPS or localhost only); the typed code always works. No library, nothing from outside the site. */
(function () {
  "use strict";
  var button = document.getElementById("scan-start");
  if (!button) return;
  var supported = "BarcodeDetector" in window && window.isSecureContext && navigator.mediaDevices &&
    navigator.mediaDevices.getUserMedia;
  if (!supported) { return; }
  button.hidden = false;
  var video = document.getElementById("scan-video");
  var stream = null;

  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
    video.hidden = true;
  }

  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (media) {
      stream = media;
      video.srcObject = media;
      video.hidden = false;
      return video.play();
    }).then(function tick() {
      if (!stream) return;
      detector.detect(video).then(function (codes) {
        if (codes.length) {
          var value = codes[0].rawValue;
          stop();
          var form = document.getElementById("counter-form");
          // One box for both: the server tells a pickup QR from a points card QR by its signature.
          form.querySelector("input[name=code]").value = value;
          form.submit();
        } else {
          window.requestAnimationFrame(tick);
        }
      }).catch(function () { window.requestAnimationFrame(tick); });
    }).catch(function () {
      stop();
      document.getElementById("scan-note").hidden = false;
    });
  });
  window.addEventListener("pagehide", stop);
})();
