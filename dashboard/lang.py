"""The reader's language for each request, and the switch on every page.

Chosen, in this order, from a ``lang`` query parameter (a kiosk link: ``/wall?kiosk=…&lang=zh-CN``,
remembered in a cookie for that screen), the logged-in person's own setting (``users.language``),
the cookie, the browser's ``Accept-Language`` and the site's language. ``/lang/<tag>`` is the
switch: it sets the cookie and, for a logged-in person, their setting. Per request (Flask's
``g``), never per process.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Flask, Response, g, redirect, request, session

from dashboard import queries as q
from dashboard.db import connection
from ingest.alarms import messages
from ingest.core import i18n
from ingest.core.i18n import N_

COOKIE = "sc_lang"
YEAR_S = 365 * 24 * 3600


def current() -> str:
    """The language of this request."""
    return str(g.get("sc_lang") or i18n.DEFAULT_LANGUAGE)


def gettext() -> i18n.Translator:
    """``_`` for this request's reader."""
    return i18n.translator(current())


def alarm_text(alarm: dict) -> str:
    """An alarm's message in this request's language."""
    return messages.render(alarm.get("message_key"), alarm.get("message_params"), current(),
                           alarm.get("message") or alarm.get("condition") or "")


def remember(lang: str | None) -> None:
    """The logged-in person's language (from the database) goes into their session."""
    user = session.get("user")
    if isinstance(user, dict) and user.get("language") != lang:
        user["language"] = lang
        session.modified = True


def _referrer_path() -> str | None:
    """The page the switch was clicked on, when it is one of ours."""
    ref = urlsplit(request.referrer or "")
    here = urlsplit(request.host_url)
    if ref.netloc != here.netloc or ref.scheme != here.scheme:
        return None
    query = urlencode([(k, v) for k, v in parse_qsl(ref.query) if k != "lang"])  # the switch overrides it
    return ref.path + (f"?{query}" if query else "")


def named(row: dict, key: str = "name") -> str:
    """A place's name in this request's language: ``<key>_zh`` for zh-CN when the site file gives one."""
    return i18n.named(row, key, current())


METRIC_LABELS = {"lel_pct": N_("combustible gas (%LEL)"), "o2_pct": N_("oxygen (%)"),
                 "temperature_c": N_("temperature (°C)"), "humidity_pct": N_("humidity (%)"),
                 "face_velocity_mps": N_("fume hood face velocity (m/s)"), "battery_pct": N_("battery (%)"),
                 "obscuration_pct_m": N_("smoke obscuration (%/m)"), "rssi_dbm": N_("signal (dBm)"),
                 "gas_alarm": N_("gas detector (1 = alarm)"), "co_alarm": N_("CO detector (1 = alarm)"),
                 "water_leak": N_("water leak (1 = wet)"), "link_margin_db": N_("link margin (dB)")}


def duty_note(entry: dict, _: i18n.Translator | None = None) -> str:
    """A duty-log entry's note; the ones the system writes (a handover, a sensor's service state)
    in the reader's language from their details, the ones people write as they wrote them.
    """
    _ = _ or gettext()
    d = entry.get("details") or {}
    if entry.get("kind") == "handover" and {"outgoing", "incoming"} <= d.keys():
        said = _("Shift handed over from {me} to {other}: {open} open, {shelved} shelved, {oos} out of service.")
        return said.format(
            me=d["outgoing"], other=d["incoming"], open=len(d.get("open", [])), shelved=len(d.get("shelved", [])),
            oos=len(d.get("out_of_service", [])))
    if "sensor" in d and "out_of_service" in d:
        if d["out_of_service"]:
            return _("{sensor} out of service: {reason}").format(sensor=d["sensor"], reason=d.get("reason", ""))
        return _("{sensor} back in service").format(sensor=d["sensor"])
    if "sensor" in d and d.get("adopted"):
        return _("{sensor} adopted into {room}").format(sensor=d["sensor"], room=d.get("room", ""))
    return str(entry.get("note") or "")


def metric_label(metric: str, _: i18n.Translator | None = None) -> str:
    """A metric as people say it ('CO (ppm)', 'temperature (°C)'), in this request's language."""
    _ = _ or gettext()
    if metric.startswith("gas_ppm."):
        return _("{gas} (ppm)").format(gas=metric.split(".", 1)[1])
    return _(METRIC_LABELS.get(metric, metric))


def install(server: Flask, site_language: str) -> None:
    """Pick each request's language; serve the switch."""

    @server.before_request
    def _pick() -> None:
        user = session.get("user")
        user = user if isinstance(user, dict) else {}
        g.sc_lang = i18n.choose(request.args.get("lang"), user.get("language"), request.cookies.get(COOKIE),
                                i18n.negotiate(request.headers.get("Accept-Language")), default=site_language)

    @server.after_request
    def _remember(resp: Response) -> Response:
        asked = i18n.normalise(request.args.get("lang"))
        if asked and request.cookies.get(COOKIE) != asked:
            resp.set_cookie(COOKIE, asked, max_age=YEAR_S, samesite="Lax", httponly=True)
        resp.headers.setdefault("Content-Language", current())
        return resp

    @server.route("/lang/<tag>")
    def switch(tag: str):  # type: ignore[no-untyped-def]
        lang = i18n.normalise(tag) or current()
        nxt = request.args.get("next") or _referrer_path() or "/"
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        user = session.get("user")
        if isinstance(user, dict) and user.get("role") != "kiosk":
            with connection() as conn:
                conn.execute(q.SET_USER_LANGUAGE, {"u": user.get("username"), "lang": lang})
                conn.commit()
            remember(lang)
        resp = redirect(nxt)
        resp.set_cookie(COOKIE, lang, max_age=YEAR_S, samesite="Lax", httponly=True)
        return resp
