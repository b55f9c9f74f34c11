/* Check-in from the phone: scan the organiser's rotating QR code with the camera where the browser can
   (BarcodeDetector, HTTPS or localhost only); the six typed digits always work. The QR holds this page's link with
   the token; we take the token from it and submit. No library, nothing from outside the site. */
(function () {
  "use strict";
  var button = document.getElementById("scan-start");
  if (!button) return;
  var supported = "BarcodeDetector" in window && window.isSecureContext && navigator.mediaDevices &&
    navigator.mediaDevices.getUserMedia;
  if (!supported) { document.getElementById("scan-note").hidden = false; return; }
  button.hidden = false;
  var video = document.getElementById("scan-video");
  var stream = null;

  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
    video.hidden = true;
  }

  function tokenFrom(value) {
    try { return new URL(value, window.location.href).searchParams.get("token") || value; } catch (e) { return value; }
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
          stop();
          var form = document.getElementById("check-form");
          form.querySelector("input[name=token]").value = tokenFrom(codes[0].rawValue);
          var action = document.createElement("input");
          action.type = "hidden"; action.name = "action"; action.value = "in";
          form.appendChild(action);
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
