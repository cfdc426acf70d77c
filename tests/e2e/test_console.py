"""The duty officer's console in a real browser, and the server-side checks behind it."""

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import psycopg
from selenium.webdriver.common.by import By

from tests.conftest import wait_until
from tests.e2e.conftest import OFFICER, VIEWER, console_errors, login
from tests.integration.helpers import alarms_for, now_ts, publish_all, publisher, running_ingest_with_alarms


def _raise_tamper(make_settings, mqtt_url, db_url):
    sensor = f"t{secrets.token_hex(3)}"
    with running_ingest_with_alarms(make_settings(), tick=False), publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/bt/door/{sensor}", {"event_id": "t1", "ts": now_ts(), "event": "tamper"})])
        return wait_until(lambda: (alarms_for(db_url, sensor) or [None])[0], 10, what="tamper alarm")


def test_officer_logs_in_acknowledges_and_the_journal_shows_it(browser, dashboard_url, make_settings, mqtt_url, db_url):
    alarm = _raise_tamper(make_settings, mqtt_url, db_url)
    login(browser, dashboard_url, OFFICER)
    wait_until(lambda: "Officer Zhang (officer)" in browser.find_element(By.TAG_NAME, "body").text, 15)
    wait_until(lambda: "Reader or door tamper" in browser.find_element(By.ID, "console-queue").text, 15)
    # Select the tamper alarm's row, then acknowledge with the keyboard shortcut's button.
    rows = browser.find_elements(By.CSS_SELECTOR, "#console-queue tr")
    target = next(r for r in rows if "Reader or door tamper" in r.text)
    target.find_element(By.CSS_SELECTOR, "input[type=radio]").click()
    wait_until(lambda: "Reader or door tamper" in browser.find_element(By.ID, "console-detail-box").text, 10)
    browser.find_element(By.ID, "console-ack").click()
    wait_until(lambda: "Acknowledged." in browser.find_element(By.ID, "console-msg").text, 10)
    wait_until(lambda: "acknowledged" in browser.find_element(By.ID, "console-journal").text, 10)
    assert "duty-officer" in browser.find_element(By.ID, "console-journal").text
    after = alarms_for(db_url, alarm["sensor_id"])[0]
    assert (after["state"], after["acked_by"]) == ("active_acked", "duty-officer")
    # A second acknowledge from this (now stale) view is refused with a clear message.
    browser.find_element(By.ID, "console-ack").click()
    wait_until(lambda: "already acknowledged by duty-officer" in browser.find_element(By.ID, "console-msg").text
               or "changed since you opened it" in browser.find_element(By.ID, "console-msg").text, 10)
    assert console_errors(browser) == []


def _session(base, user=None):
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    if user:
        body = urllib.parse.urlencode({"username": user[0], "password": user[1], "next": "/console"}).encode()
        req = urllib.request.Request(f"{base}/login", data=body, headers={"Origin": base})
        opener.open(req).read()
    return opener


def _forged_ack(opener, base, alarm_id, origin=None):
    deps = json.loads(opener.open(f"{base}/_dash-dependencies").read())
    act = next(d for d in deps if "console-msg.children" in d["output"])
    inputs = [{"id": i["id"], "property": i["property"], "value": 1 if i["id"] == "console-ack" else None}
              for i in act["inputs"]]
    state = [{"id": s["id"], "property": s["property"],
              "value": alarm_id if s["id"] == "console-selected" else None} for s in act["state"]]
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in act["output"].strip(".").split("...")]
    body = json.dumps({"output": act["output"], "outputs": outputs, "inputs": inputs, "state": state,
                       "changedPropIds": ["console-ack.n_clicks"]}).encode()
    req = urllib.request.Request(f"{base}/_dash-update-component", data=body,
                                 headers={"Content-Type": "application/json", "Origin": origin or base})
    return opener.open(req).read().decode()


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
        assert conn.execute("SELECT count(*) FROM alarm_journal WHERE alarm_id = %s AND action = 'acknowledged'",
                            (alarm["id"],)).fetchone()[0] == 0


def test_wrong_passwords_are_rate_limited(dashboard_url):
    opener = _session(dashboard_url)
    codes = []
    for _ in range(6):
        body = urllib.parse.urlencode({"username": "duty-officer", "password": "wrong-password"}).encode()
        try:
            opener.open(urllib.request.Request(f"{dashboard_url}/login", data=body, headers={"Origin": dashboard_url}))
        except urllib.error.HTTPError as err:
            codes.append(err.code)
    assert codes[:5] == [401] * 5 and codes[5] == 429


def test_pages_have_no_console_errors(browser, dashboard_url):
    login(browser, dashboard_url, VIEWER)
    wait_until(lambda: "Viewer Li (viewer)" in browser.find_element(By.TAG_NAME, "body").text, 15)
    for path in ("/console", "/wall", "/"):
        browser.get(f"{dashboard_url}{path}")
        wait_until(lambda: browser.execute_script("return document.readyState") == "complete", 10)
        wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "._dash-loading") == [], 10)
    assert console_errors(browser) == []
