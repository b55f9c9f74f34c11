/* Scanning a QR code with the phone's camera, shared by the pages that take one (the clerk's counter, the
   volunteer's check-in). Where the browser can (BarcodeDetector, HTTPS or localhost only) the "scan" button
   appears; a typed code always works. No library, nothing from outside the site.

   gongzhiQrScan({button, video, note, onCode, quietWhenUnsupported}): shows the button when scanning is possible,
   otherwise the note (unless quietWhenUnsupported); a tap opens the back camera and calls onCode(text) once with
   the first code seen; the note shows when the camera cannot be opened. */
(function () {
  "use strict";
  window.gongzhiQrScan = function (options) {
    var button = options.button, video = options.video, note = options.note;
    if (!button || !video) return;
    var supported = "BarcodeDetector" in window && window.isSecureContext && navigator.mediaDevices &&
      navigator.mediaDevices.getUserMedia;
    if (!supported) { if (note && !options.quietWhenUnsupported) note.hidden = false; return; }
    button.hidden = false;
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
            stop();
            options.onCode(codes[0].rawValue);
          } else {
            window.requestAnimationFrame(tick);
          }
        }).catch(function () { window.requestAnimationFrame(tick); });
      }).catch(function () {
        stop();
        if (note) note.hidden = false;
      });
    });
    window.addEventListener("pagehide", stop);
  };
})();
