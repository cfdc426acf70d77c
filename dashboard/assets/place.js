// The placement tool (/map/place): drag a device on the plan, or from the list onto it.
// A drop tells the server where, in the plan's own coordinates (place-move); nothing is
// stored until the administrator saves.
(function () {
  var drag = null;
  function floorAt(x, y) {
    var f = document.querySelector(".sc-place .sc-floor");
    if (!f) return null;
    var r = f.getBoundingClientRect();
    if (x < r.left || x > r.right || y < r.top || y > r.bottom) return null;
    return {el: f, r: r, w: parseFloat(f.dataset.w), h: parseFloat(f.dataset.h)};
  }
  function sensorOf(el) {
    if (el.dataset.sensor) return el.dataset.sensor;
    return el.id && el.id.indexOf("dev-") === 0 ? el.id.slice(4) : null;
  }
  document.addEventListener("pointerdown", function (e) {
    if (location.pathname !== "/map/place") return;
    var el = e.target.closest && e.target.closest(".sc-place .sc-dev");
    if (!el || !sensorOf(el)) return;
    var ghost = null;
    if (el.closest(".sc-tray")) {  // from the list: a copy follows the pointer
      ghost = el.cloneNode(true);
      ghost.removeAttribute("id");
      ghost.style.cssText = "position:fixed;z-index:99;pointer-events:none;opacity:0.85;transform:translate(-50%,-50%)";
      document.body.appendChild(ghost);
    }
    drag = {el: el, ghost: ghost, id: sensorOf(el)};
    el.setPointerCapture && el.setPointerCapture(e.pointerId);
    move(e);
    e.preventDefault();
  });
  function move(e) {
    if (!drag) return;
    if (drag.ghost) { drag.ghost.style.left = e.clientX + "px"; drag.ghost.style.top = e.clientY + "px"; return; }
    var f = floorAt(e.clientX, e.clientY);
    if (!f) return;
    drag.el.style.left = ((e.clientX - f.r.left) / f.r.width * 100) + "%";
    drag.el.style.top = ((e.clientY - f.r.top) / f.r.height * 100) + "%";
  }
  document.addEventListener("pointermove", move);
  document.addEventListener("pointerup", function (e) {
    if (!drag) return;
    var d = drag; drag = null;
    if (d.ghost) d.ghost.remove();
    var f = floorAt(e.clientX, e.clientY);
    if (!f || !window.dash_clientside || !window.dash_clientside.set_props) return;
    window.dash_clientside.set_props("place-move", {data: {
      id: d.id, x: (e.clientX - f.r.left) / f.r.width * f.w, y: (e.clientY - f.r.top) / f.r.height * f.h, at: Date.now()}});
  });
})();
