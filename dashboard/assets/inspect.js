/* The inspection page's floor plan: a tap keeps the point in plan coordinates (the store
   insp-xy) and pins it, so an inspection is placed without GPS. */
document.addEventListener("click", function (ev) {
  const floor = ev.target.closest && ev.target.closest("#insp-floorplan .sc-floor");
  if (!floor || !window.dash_clientside) { return; }
  const box = floor.getBoundingClientRect();
  const fx = (ev.clientX - box.left) / box.width, fy = (ev.clientY - box.top) / box.height;
  if (fx < 0 || fx > 1 || fy < 0 || fy > 1) { return; }
  const w = parseFloat(floor.dataset.w), h = parseFloat(floor.dataset.h);
  window.dash_clientside.set_props("insp-xy", {data: [Math.round(fx * w * 10) / 10, Math.round(fy * h * 10) / 10]});
  let pin = floor.querySelector(".sc-insp-pin");
  if (!pin) { pin = document.createElement("div"); pin.className = "sc-insp-pin"; floor.appendChild(pin); }
  pin.style.left = (fx * 100) + "%";
  pin.style.top = (fy * 100) + "%";
});
