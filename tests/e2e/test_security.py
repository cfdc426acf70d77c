"""Security at the dashboard: every change-making callback checks the role on the server, hostile
names render as text, and SQL metacharacters in every filter are just characters."""

import json
import secrets
import urllib.error

import psycopg
import pytest
from psycopg import sql
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from ingest.core.site import Site
from ingest.db.registry import load_site
from tests.conftest import wait_until
from tests.e2e.conftest import KIOSK, OFFICER, OFFICER2, VIEWER, console_errors, forge_callback, login, session, text
from tests.integration.helpers import alarms_for, now_ts, publish_all, publisher, running_ingest_with_alarms

HOSTILE_BUILDING = '<img src=x onerror="window.__xss=1">Chem'
HOSTILE_DEPT = "<script>window.__xss=2</script>Dept"
HOSTILE_NOTE = '<b onmouseover="window.__xss=3">bold?</b> & O\'Brien; DROP TABLE alarms; --'
SQL_BAITS = ("'; DROP TABLE alarms; --", "%", "_", "\\", "' OR '1'='1", "x\") OR 1=1 --", "$1", "%(x)s", "{}")


def snapshot(db_url):
    """What a refused request must not change."""
    with psycopg.connect(db_url) as conn:
        return [conn.execute(sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(t))).fetchall()
                for t in ("alarms", "alarm_journal", "duty_log")] + [
            conn.execute("SELECT id, out_of_service_since FROM sensors ORDER BY id").fetchall()]


@pytest.fixture
def hostile_alarm(db_url, make_settings, mqtt_url, dashboard_url):
    """A site whose names are HTML, and an alarm there with an HTML note."""
    tag = secrets.token_hex(3)
    site = Site.model_validate({
        "name": "hostile", "departments": [{"id": f"hd{tag}", "name": HOSTILE_DEPT}],
        "buildings": [{"id": f"hb{tag}", "name": HOSTILE_BUILDING, "use": "lab", "department": f"hd{tag}", "floors": 1,
                       "outline": [[0, 0], [1, 0], [1, 1]], "rooms": [
                           {"id": f"hr{tag}", "name": "<i>Room</i>", "use": "lab", "floor": 0,
                            "sensors": [{"kind": "door", "id": f"hdoor{tag}"}]}]}]})
    with psycopg.connect(db_url) as conn:
        load_site(conn, site)
    with running_ingest_with_alarms(make_settings(), tick=False), publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/hb{tag}/door/hdoor{tag}", {"event_id": "x", "ts": now_ts(), "event": "tamper"})])
        alarm = wait_until(lambda: (alarms_for(db_url, f"hdoor{tag}") or [None])[0], 10, what="tamper alarm")
    status, body = forge_callback(session(dashboard_url, OFFICER), dashboard_url,
                                  "console-note-btn.n_clicks", {"console-selected": alarm["id"],
                                                                "console-note": HOSTILE_NOTE})
    assert "Note added." in body
    return alarm


# Every change-making callback: its trigger, the values a real page would send, and who may use it.
CHANGES = [
    ("console-ack.n_clicks", {}, "officer"),
    ("console-assign.n_clicks", {}, "officer"),
    ("console-reset.n_clicks", {}, "officer"),
    ("console-note-btn.n_clicks", {"console-note": "forged"}, "officer"),
    ("console-shelve-btn.n_clicks", {"console-shelve-min": 5, "console-shelve-reason": "forged"}, "officer"),
    ("console-close-btn.n_clicks", {"console-disposition": "false_alarm"}, "officer"),
    ("console-steps.value", {"console-steps.value": [0], "console-steps.options": []}, "officer"),
    ("ho-add.n_clicks", {"ho-kind": "remark", "ho-note": "forged"}, "officer"),
    ("ho-sign.n_clicks", {"ho-incoming": OFFICER2[0], "ho-incoming-pw": OFFICER2[1]}, "officer"),
    ("sensors-oos-btn.n_clicks", {"sensors-oos-reason": "forged"}, "admin"),
    ("sensors-back-btn.n_clicks", {}, "admin"),
]


def test_every_change_making_callback_refuses_anonymous_and_viewer_requests(dashboard_url, db_url, hostile_alarm):
    before = snapshot(db_url)
    callers = {"anonymous": session(dashboard_url), "viewer": session(dashboard_url, VIEWER),
               "officer": session(dashboard_url, OFFICER)}
    tried = 0
    for trigger, values, needs in CHANGES:
        values = {"console-selected": hostile_alarm["id"], "sensors-oos-id": hostile_alarm["sensor_id"], **values}
        refused_for = ["anonymous", "viewer"] + (["officer"] if needs == "admin" else [])
        for who in refused_for:
            status, body = forge_callback(callers[who], dashboard_url, trigger, values)
            assert status == 200 and "Refused: " in body, (trigger, who, body[:300])
            tried += 1
    assert tried == 2 * len(CHANGES) + 2
    assert snapshot(db_url) == before  # nothing changed


def test_hostile_names_and_notes_render_as_text(browser, dashboard_url, db_url, hostile_alarm):
    login(browser, dashboard_url, OFFICER)
    wait_until(lambda: "Officer Zhang (duty officer)" in text(browser), 15)

    def select():
        try:
            rows = browser.find_elements(By.CSS_SELECTOR, "#console-queue tr")
            target = next(r for r in rows if "Chem" in r.text and "tamper" in r.text.lower())
            target.find_element(By.CSS_SELECTOR, "input[type=radio]").click()
        except (StaleElementReferenceException, StopIteration):
            return False
        return "bold?" in text(browser, "#console-journal")

    wait_until(select, 20, 0.3, what="the hostile alarm selected")
    assert HOSTILE_BUILDING in text(browser, "#console-queue")  # the markup is shown as characters
    assert HOSTILE_NOTE in text(browser, "#console-journal")
    assert HOSTILE_BUILDING in text(browser, "#console-detail-box")
    browser.get(f"{dashboard_url}/sensors")
    wait_until(lambda: HOSTILE_BUILDING in text(browser), 20, what="the sensor list")
    browser.get(f"{dashboard_url}/wall?kiosk={KIOSK}")  # the kiosk link ends the officer's session
    wait_until(lambda: HOSTILE_BUILDING in text(browser), 20, what="the wall listing the alarm")
    assert browser.execute_script("return window.__xss === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "img[src=x]")
    assert console_errors(browser) == []
    browser.get(f"{dashboard_url}/login")  # leaving cuts the wall's event stream: that message is not the next test's
    console_errors(browser)


def test_sql_metacharacters_in_every_filter_are_harmless(dashboard_url, db_url):
    viewer = session(dashboard_url, VIEWER)
    before = snapshot(db_url)
    total_sensors = len(before[3])
    for bait in SQL_BAITS:
        # Console queue filters (dropdowns in the page, but the server takes whatever comes).
        for fid, value in (("f-priority", [bait]), ("f-state", [bait]), ("f-building", bait),
                           ("f-department", bait), ("f-family", bait)):
            status, body = forge_callback(viewer, dashboard_url, f"{fid}.value", {fid: value})
            assert status == 200 and json.loads(body)["response"]["console-queue"]["data"] == [], (fid, bait)
        # Sensor search is plain text: '%' and '_' match only themselves.
        status, body = forge_callback(viewer, dashboard_url, "sensors-search.value", {"sensors-search": bait})
        rows = json.loads(body)["response"]["sensors-table"]["data"]
        assert status == 200 and all(bait.lower() in (r["id"] + (r["building"] or "")).lower() for r in rows), bait
        assert len(rows) < total_sensors, bait
        # Trends choices.
        for fid in ("trends-building", "trends-sensor"):
            status, _ = forge_callback(viewer, dashboard_url, f"{fid}.value",
                                       {fid: bait, "trends-range": "24h", "trends-metric": "temperature_c"})
            assert status in (200, 204), (fid, bait)
        # Report parameters: a clear 400, never a 500.
        from urllib.parse import quote
        for path in (f"/reports/weekly?week={quote(bait)}", f"/reports/health?since={quote(bait)}",
                     f"/duty-log/{quote(bait, safe='')}.csv"):
            try:
                viewer.open(f"{dashboard_url}{path}")
                code = 200
            except urllib.error.HTTPError as err:
                code = err.code
            assert code in (400, 404), (path, code)
    assert snapshot(db_url) == before
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('alarms')").fetchone()[0] is not None
