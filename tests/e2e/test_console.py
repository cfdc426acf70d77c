"""The duty officer's console in a real browser, and the server-side checks behind it."""

import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

import psycopg
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.conftest import wait_until
from tests.e2e.conftest import ADMIN, OFFICER, OFFICER2, VIEWER, console_errors, forge_callback, login, text
from tests.e2e.conftest import session as _session
from tests.integration.helpers import alarms_for, now_ts, publish_all, publisher, running_ingest_with_alarms


def _raise_tamper(make_settings, mqtt_url, db_url):
    sensor = f"t{secrets.token_hex(3)}"
    with running_ingest_with_alarms(make_settings(), tick=False), publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/bt/door/{sensor}", {"event_id": "t1", "ts": now_ts(), "event": "tamper"})])
        return wait_until(lambda: (alarms_for(db_url, sensor) or [None])[0], 10, what="tamper alarm")


def test_officer_logs_in_acknowledges_and_the_journal_shows_it(browser, dashboard_url, make_settings, mqtt_url, db_url):
    alarm = _raise_tamper(make_settings, mqtt_url, db_url)
    login(browser, dashboard_url, OFFICER)
    wait_until(lambda: "Officer Zhang (duty officer)" in text(browser), 15)
    wait_until(lambda: "Reader or door tamper" in text(browser, "#console-queue"), 15)

    def select_tamper_row():
        # The queue re-renders when alarms change; retry until the click lands on a live row.
        try:
            rows = browser.find_elements(By.CSS_SELECTOR, "#console-queue tr")
            target = next(r for r in rows if "Reader or door tamper" in r.text)
            target.find_element(By.CSS_SELECTOR, "input[type=radio]").click()
        except (StaleElementReferenceException, StopIteration):
            return False
        return "Reader or door tamper" in text(browser, "#console-detail-box")

    wait_until(select_tamper_row, 15, 0.3, what="the tamper alarm selected")
    browser.find_element(By.ID, "console-ack").click()
    wait_until(lambda: "Acknowledged." in text(browser, "#console-msg"), 10)
    wait_until(lambda: "acknowledged" in text(browser, "#console-journal"), 10)
    assert "duty-officer" in text(browser, "#console-journal")
    after = alarms_for(db_url, alarm["sensor_id"])[0]
    assert (after["state"], after["acked_by"]) == ("active_acked", "duty-officer")
    # A second acknowledge from this (now stale) view is refused with a clear message.
    browser.find_element(By.ID, "console-ack").click()
    wait_until(
        lambda: (
            "already acknowledged by duty-officer" in text(browser, "#console-msg")
            or "changed since you opened it" in text(browser, "#console-msg")
        ),
        10,
    )
    assert console_errors(browser) == []


def _forged_ack(opener, base, alarm_id, origin=None):
    return forge_callback(opener, base, "console-ack.n_clicks", {"console-selected": alarm_id}, origin=origin)[1]


def test_viewer_and_anonymous_forged_acknowledges_are_refused(dashboard_url, make_settings, mqtt_url, db_url):
    alarm = _raise_tamper(make_settings, mqtt_url, db_url)
    viewer = _session(dashboard_url, VIEWER)
    answer = _forged_ack(viewer, dashboard_url, alarm["id"])
    assert "Refused: your role (viewer) may not acknowledge alarms." in answer
    anonymous = _session(dashboard_url)
    answer = _forged_ack(anonymous, dashboard_url, alarm["id"])
    assert "Refused: you are not logged in" in answer
    officer = _session(dashboard_url, OFFICER)
    try:
        _forged_ack(officer, dashboard_url, alarm["id"], origin="http://evil.example")
        raise AssertionError("a cross-origin request was accepted")
    except urllib.error.HTTPError as err:
        assert err.code == 403
    assert alarms_for(db_url, alarm["sensor_id"])[0]["state"] == "active_unacked"
    with psycopg.connect(db_url) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM alarm_journal WHERE alarm_id = %s AND action = 'acknowledged'", (alarm["id"],)
            ).fetchone()[0]
            == 0
        )


def test_wrong_passwords_are_rate_limited(dashboard_url):
    opener = _session(dashboard_url)
    codes = []
    for _ in range(6):
        body = urllib.parse.urlencode({"username": "night-guard", "password": "wrong-password"}).encode()
        try:
            opener.open(urllib.request.Request(f"{dashboard_url}/login", data=body, headers={"Origin": dashboard_url}))
        except urllib.error.HTTPError as err:
            codes.append(err.code)
    assert codes[:5] == [401] * 5 and codes[5] == 429


def test_pages_have_no_console_errors(browser, dashboard_url):
    login(browser, dashboard_url, VIEWER)
    wait_until(lambda: "Viewer Li (viewer)" in text(browser), 15)
    for path, marker in (
        ("/console", "Alarm console"),
        ("/wall", "SafeCampus"),
        ("/", "Wall screen"),
        ("/trends", "Events per hour"),
        ("/sensors", "Sensors"),
        ("/console/handover", "Shift handover"),
    ):
        browser.get(f"{dashboard_url}{path}")
        wait_until(lambda m=marker: m in text(browser), 15, what=f"{path} rendered")
        time.sleep(0.5)
    assert console_errors(browser) == []


def test_admin_puts_a_sensor_out_of_service_and_a_viewer_cannot(browser, dashboard_url, db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO sensors (id, kind, building_id) VALUES ('oos-1', 'smoke', 'b') ON CONFLICT DO NOTHING"
        )
    for user, expect in ((VIEWER, "Refused: your role (viewer)"), (ADMIN, "Done: oos-1 out of service")):
        login(browser, dashboard_url, user, "/sensors")
        wait_until(lambda: "Out of service (admins)" in text(browser), 15)
        browser.find_element(By.ID, "sensors-oos-id").send_keys("oos-1")
        browser.find_element(By.ID, "sensors-oos-reason").send_keys("detector replaced")
        browser.find_element(By.ID, "sensors-oos-btn").click()
        wait_until(lambda e=expect: e in text(browser, "#sensors-msg"), 10, what=expect)
    with psycopg.connect(db_url) as conn:
        assert (
            conn.execute("SELECT out_of_service_reason FROM sensors WHERE id = 'oos-1'").fetchone()[0]
            == "detector replaced"
        )
        assert conn.execute("SELECT count(*) FROM duty_log WHERE note LIKE 'oos-1 out of service%'").fetchone()[0] == 1


def test_admin_adopts_a_zigbee_device_into_a_room_and_a_viewer_cannot(browser, dashboard_url, db_url):
    sid = "z2m-zigbee2mqtt.0x00158d0009a1b2c3"
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO departments (id, name) VALUES ('ad', 'Adopters') ON CONFLICT DO NOTHING")
        conn.execute("INSERT INTO buildings (id, name, department_id) VALUES ('adb', 'Annex', 'ad') "
                     "ON CONFLICT DO NOTHING")
        conn.execute("INSERT INTO rooms (id, building_id, name, use) VALUES ('adb-store', 'adb', 'Store', 'store') "
                     "ON CONFLICT DO NOTHING")
        # What ingest registers for a device nobody placed (tests/integration/test_adapters.py).
        conn.execute(
            "INSERT INTO sensors (id, kind, building_id, registered, source) VALUES (%s, 'door', 'unassigned', false, "
            "'{\"adapter\": \"zigbee2mqtt\", \"key\": \"zigbee2mqtt/0x00158d0009a1b2c3\", "
            "\"topic\": \"zigbee2mqtt/0x00158d0009a1b2c3\"}') ON CONFLICT DO NOTHING", (sid,))
    login(browser, dashboard_url, ADMIN, "/sensors")
    wait_until(lambda: "zigbee2mqtt: zigbee2mqtt/0x00158d0009a1b2c3" in text(browser, "#sensors-table"), 15,
               what="the unregistered device with its source")
    for user, expect in ((VIEWER, "Refused: your role (viewer)"), (ADMIN, f"Done: {sid} is in adb-store")):
        login(browser, dashboard_url, user, "/sensors")
        wait_until(lambda: "Adopt a device (admins)" in text(browser), 15)
        browser.find_element(By.ID, "sensors-adopt-id").send_keys(sid)
        if user == ADMIN:  # Dash 4's dropdown: open it, search, pick the option
            browser.find_element(By.ID, "sensors-adopt-room").click()
            browser.find_element(By.CSS_SELECTOR, "input.dash-dropdown-search").send_keys("adb-store")
            option = wait_until(lambda: next((o for o in browser.find_elements(By.CSS_SELECTOR, "[role=option]")
                                              if "Annex / Store (adb-store)" in o.text), None), 10, what="the room")
            option.click()
            wait_until(lambda: "Annex / Store" in text(browser, "#sensors-adopt-room"), 10, what="room chosen")
        browser.find_element(By.ID, "sensors-adopt-btn").click()
        wait_until(lambda e=expect: e in text(browser, "#sensors-adopt-msg"), 10, what=expect)
    lines = text(browser, "#sensors-adopt-lines")
    assert f"id: {sid}" in lines and "adapter: zigbee2mqtt" in lines
    assert "topic: zigbee2mqtt/0x00158d0009a1b2c3" in lines
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT registered, room_id, building_id, thresholds ->> 'offline_after_s' FROM sensors "
                           "WHERE id = %s", (sid,)).fetchone()
        assert row == (True, "adb-store", "adb", str(25 * 3600))
        assert conn.execute("SELECT count(*) FROM duty_log WHERE details ->> 'sensor' = %s AND "
                            "(details ->> 'adopted')::boolean", (sid,)).fetchone()[0] == 1
    browser.get("about:blank")
    assert console_errors(browser) == []


def test_duty_log_entry_and_a_handover_signed_by_both_officers(browser, dashboard_url, db_url):
    login(browser, dashboard_url, OFFICER, "/console/handover")
    wait_until(lambda: "Reminder: record an equipment-status check" in text(browser) or "Duty log" in text(browser), 15)
    browser.find_element(By.ID, "ho-note").send_keys("fire panel normal, pumps on auto")
    browser.find_element(By.ID, "ho-add").click()
    wait_until(lambda: "fire panel normal" in text(browser, "#ho-log"), 10)
    browser.find_element(By.ID, "ho-incoming").send_keys(OFFICER2[0])
    browser.find_element(By.ID, "ho-incoming-pw").send_keys("wrong")
    browser.find_element(By.ID, "ho-sign").click()
    wait_until(lambda: "password is wrong" in text(browser, "#ho-msg"), 10)
    pw = browser.find_element(By.ID, "ho-incoming-pw")
    pw.send_keys(Keys.CONTROL, "a")  # clear() does not reach React's state
    pw.send_keys(Keys.BACKSPACE)
    pw.send_keys(OFFICER2[1])
    browser.find_element(By.ID, "ho-sign").click()
    wait_until(
        lambda: "Shift handed over from duty-officer to night-officer" in text(browser, "#ho-msg"),
        10,
        what=f"handover message, have {text(browser, '#ho-msg')!r}",
    )
    with psycopg.connect(db_url) as conn:
        kinds = [r[0] for r in conn.execute("SELECT kind FROM duty_log WHERE author = 'duty-officer' ORDER BY id")]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM duty_log")
    assert kinds[-2:] == ["equipment", "handover"]
    opener = _session(dashboard_url, OFFICER)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    campus_day = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the campus's day, whatever this machine's zone
    csv_text = opener.open(f"{dashboard_url}/duty-log/{campus_day}.csv").read().decode()
    assert csv_text.splitlines()[0] == "time,author,kind,note" and "fire panel normal" in csv_text


def test_weekly_review_is_for_logged_in_users(dashboard_url):
    try:
        _session(dashboard_url).open(f"{dashboard_url}/reports/weekly")
        raise AssertionError("an anonymous user got the report")
    except urllib.error.HTTPError as err:
        assert err.code == 401
    viewer = _session(dashboard_url, VIEWER)
    page = viewer.open(f"{dashboard_url}/reports/weekly?week=2026-W48").read().decode()
    assert "Weekly review 2026-W48" in page and "Alarm-system health" in page
    csv_text = viewer.open(f"{dashboard_url}/reports/weekly.csv?week=2026-W48").read().decode()
    assert csv_text.startswith("id,raised at,sensor,building")
    try:
        viewer.open(f"{dashboard_url}/reports/weekly?week=lastweek")
        raise AssertionError("a bad week was accepted")
    except urllib.error.HTTPError as err:
        assert err.code == 400


def test_alarm_health_for_a_chosen_period(browser, dashboard_url):
    for path in ("/reports/health", "/reports/health.csv"):
        try:
            _session(dashboard_url).open(f"{dashboard_url}{path}")
            raise AssertionError(f"an anonymous user got {path}")
        except urllib.error.HTTPError as err:
            assert err.code == 401
    viewer = _session(dashboard_url, VIEWER)
    csv_text = (
        viewer.open(f"{dashboard_url}/reports/health.csv?since=2026-11-01T00:00&until=2026-11-08T00:00").read().decode()
    )
    assert csv_text.splitlines()[0] == "measure,value,target" and "time in flood" in csv_text
    for bad, message in (
        ("since=yesterday&until=2026-11-08T00:00", "must be a date and time"),
        ("since=2026-11-08T00:00&until=2026-11-01T00:00", "must be after"),
        ("since=2020-01-01T00:00&until=2026-11-01T00:00", "at most 400 days (the history kept)"),
    ):
        try:
            viewer.open(f"{dashboard_url}/reports/health?{bad}")
            raise AssertionError(f"{bad} was accepted")
        except urllib.error.HTTPError as err:
            assert err.code == 400 and message in err.read().decode()
    # In the browser: pick a period in the form and read the figures beside their targets.
    login(browser, dashboard_url, VIEWER, "/reports/health")
    wait_until(lambda: "Alarm-system health" in text(browser, "h1"), timeout=10)
    since = browser.find_element(By.NAME, "since")
    browser.execute_script("arguments[0].value = '2026-11-01T00:00'", since)
    browser.find_element(By.CSS_SELECTOR, "form.pick button").click()
    wait_until(lambda: "2026-11-01 00:00 to" in text(browser, "body"), timeout=10)
    assert "alarms per 10 min" in text(browser, "body") and "80 / 15 / 5 %" in text(browser, "body")
