window.dash_clientside = Object.assign({}, window.dash_clientside, {
  safecampus: {
    // The wall's clock in campus time (the zone comes from the server), whatever zone the browser is in.
    clock: function (_n, zone) {
      var d = new Date();
      try {
        return new Intl.DateTimeFormat("en-GB", {
          timeZone: zone || undefined, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
        }).format(d);
      } catch (e) {  // an unknown zone name: the browser's own time rather than no clock
        function two(n) { return (n < 10 ? "0" : "") + n; }
        return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
      }
    }
  }
});
