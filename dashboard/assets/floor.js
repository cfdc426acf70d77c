// A push to an open floor plan: the server sends only the devices that are not normal
// ({id: [class, title, link]}); every other marker goes back to the normal look it was drawn
// with (data-base-*). The plan image and the markers' elements stay as they are.
window.dash_clientside = Object.assign({}, window.dash_clientside);
window.dash_clientside.safecampus_floor = {
  markers: function (states) {
    if (!states) return window.dash_clientside.no_update;
    var shown = states.s || {};
    document.querySelectorAll(".sc-floor-devices > [id^='dev-']").forEach(function (el) {
      var s = shown[el.id.slice(4)];
      el.className = s ? s[0] : el.dataset.baseClass;
      el.title = s ? s[1] : el.dataset.baseTitle;
      if (el.tagName === "A") el.setAttribute("href", s ? s[2] : el.dataset.baseHref);
    });
    return states.v;
  }
};
