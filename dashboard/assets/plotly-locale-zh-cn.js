/* Plotly's chart words and date formats for zh-CN, written for SafeCampus (a campus LAN may
   have no internet, so nothing is fetched). dcc.Graph loads Plotly on demand: register the
   locale as soon as it is there; figures pick it with config.locale = "zh-CN". */
(function () {
  var locale = {
    moduleType: "locale",
    name: "zh-CN",
    dictionary: {
      "Autoscale": "自动缩放", "Box Select": "矩形选择", "Download plot as a png": "下载图表为 PNG",
      "Pan": "平移", "Reset axes": "重置坐标轴", "Zoom": "缩放", "Zoom in": "放大", "Zoom out": "缩小",
      "Toggle Spike Lines": "切换辅助线", "Lasso Select": "套索选择"
    },
    format: {
      days: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
      shortDays: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
      months: ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
      shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
      date: "%Y-%m-%d",
      decimal: ".",
      thousands: ",",
      year: "%Y年",
      month: "%Y年%-m月",
      dayMonth: "%-m月%-d日",
      dayMonthYear: "%Y年%-m月%-d日"
    }
  };
  function register(plotly) {
    if (plotly && plotly.register) {
      plotly.register(locale);
      return true;
    }
    return false;
  }
  if (register(window.Plotly)) { return; }
  // Plotly arrives later (loaded on demand) and draws at once: register the locale the moment
  // Plotly is set on the window, before any chart is drawn. Polling alone left a window of up
  // to 100 ms in which a chart drew its dates in English ("Dec 8, 2026") and kept them.
  var plotly;
  try {
    Object.defineProperty(window, "Plotly", {
      configurable: true,
      enumerable: true,
      get: function () { return plotly; },
      set: function (value) { plotly = value; register(value); }
    });
  } catch (e) { /* a browser that refuses: the polling below still registers it */ }
  var tries = 0;
  var timer = setInterval(function () {
    if (register(window.Plotly) || ++tries > 600) { clearInterval(timer); }
  }, 100);
})();
