/* The guard page's camera: read a checkpoint's QR code with the browser's BarcodeDetector and
   record it as a QR scan (the weaker proof). Browsers allow the camera on HTTPS or localhost. */
window.scGuard = (function () {
  let stream = null;
  function stop(video) {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    if (video) { video.style.display = "none"; }
  }
  function say(text) {
    const msg = document.getElementById("guard-msg");
    if (msg) { msg.textContent = text; }
  }
  async function camera() {
    const video = document.getElementById("guard-video");
    const lang = document.documentElement.lang || "en";
    const zh = lang.indexOf("zh") === 0;
    if (stream) { stop(video); return window.dash_clientside.no_update; }
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
      say(zh ? "此浏览器无法用摄像头识别二维码：请输入点位编码。" :
               "This browser cannot read QR codes with the camera: type the checkpoint's code.");
      return window.dash_clientside.no_update;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}});
    } catch (e) {
      say(zh ? "无法打开摄像头：请输入点位编码。" : "The camera could not be opened: type the checkpoint's code.");
      return window.dash_clientside.no_update;
    }
    video.srcObject = stream;
    video.style.display = "block";
    const detector = new window.BarcodeDetector({formats: ["qr_code"]});
    const started = Date.now();
    while (stream && Date.now() - started < 60000) {
      await new Promise(function (r) { setTimeout(r, 300); });
      let codes = [];
      try { codes = await detector.detect(video); } catch (e) { codes = []; }
      if (codes.length) {
        const code = codes[0].rawValue.trim();
        stop(video);
        window.dash_clientside.set_props("guard-code", {value: code});
        window.dash_clientside.set_props("guard-method", {data: "qr"});
        setTimeout(function () { document.getElementById("guard-scan").click(); }, 50);
        return "qr";
      }
    }
    stop(video);
    return window.dash_clientside.no_update;
  }
  return {camera: camera};
})();
