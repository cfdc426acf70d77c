window.dash_clientside = Object.assign({}, window.dash_clientside, {
  safecampus: {
    clock: function () {
      var d = new Date();
      function two(n) { return (n < 10 ? "0" : "") + n; }
      return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
    }
  }
});
