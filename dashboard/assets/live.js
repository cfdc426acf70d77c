// Live updates: one server-sent-events stream per page nudges the page's callbacks.
(function () {
  var LIVE_PAGES = ["/wall", "/console", "/console/handover", "/map"];
  var audio = null;
  function beep() {
    if (new URLSearchParams(location.search).get("sound") !== "1") return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; o.connect(g); g.connect(audio.destination);
      g.gain.setValueAtTime(0.2, audio.currentTime);
      o.start(); o.stop(audio.currentTime + 0.4);
    } catch (e) { /* audio not allowed until the first click; see README */ }
  }
  var es = null;
  // In a flood (hundreds of changes a second, or an officer acknowledging a group of 500) the
  // page re-reads at once on the first change, then at most every PACE ms: what it shows is
  // never older than that, and the server answers a few reads, not one per change.
  var PACE = 500, last = 0, pending = null, waiting = null;
  function send(detail) {
    last = Date.now();
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("live-signal", {data: Object.assign({at: last}, detail)});
    }
  }
  function nudge(detail) {  // the page's callbacks re-read what they show
    var wait = last + PACE - Date.now();
    if (wait <= 0 && !waiting) { send(detail); return; }
    pending = detail;
    if (!waiting) waiting = setTimeout(function () { waiting = null; send(pending); }, Math.max(wait, 0));
  }
  var beeped = 0;
  function connect() {
    // Only pages that rendered their live frame (that is, the user may see them) listen.
    if (es || !window.EventSource || LIVE_PAGES.indexOf(location.pathname) < 0) return;
    if (!document.querySelector(".sc-wall, .sc-console, .sc-map")) return;
    es = new EventSource("/events/alarms");
    // Opened or reopened (after a network or server break): changes made while the page
    // had no stream were not pushed, so refresh once now.
    es.onopen = function () { nudge({action: "stream-open"}); };
    es.onmessage = function (e) {
      var d = JSON.parse(e.data);
      nudge({id: d.id, action: d.action});
      if (d.priority === "critical" && d.action === "raised" && Date.now() - beeped > 2000) {
        beeped = Date.now(); beep();  // once, not once per alarm of a flood
      }
    };
  }
  // Keyboard: a = acknowledge, j / n = next alarm, k = previous (console only).
  document.addEventListener("keydown", function (e) {
    if (location.pathname !== "/console") return;
    var tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || e.ctrlKey || e.metaKey || e.altKey) return;
    var ids = {a: "console-ack", j: "console-next", n: "console-next", k: "console-prev"};
    var el = ids[e.key] && document.getElementById(ids[e.key]);
    if (el) { el.click(); e.preventDefault(); }
  });
  setInterval(connect, 500);
})();
