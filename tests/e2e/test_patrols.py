"""Guard tours and dispatch in real browsers: an officer starts an extra round, a guard on a
390 × 844 phone scans its first checkpoint and sees the next one on its floor plan; the officer
dispatches the guard to an alarm, the guard marks on scene and resolved, and the console shows
each step. Guards reach their own page only; officers' pages refuse them.
"""

from __future__ import annotations

import secrets
import time

import psycopg
import pytest
from selenium.webdriver.common.by import By

from ingest.accounts import add_user
from ingest.core.sitefile import load_site
from ingest.db.registry import load_site as load_into_db
from tests.conftest import wait_until
from tests.e2e.conftest import OFFICER, click, console_errors, forge_callback, login, session, text
from tests.integration.helpers import alarms_for, now_ts, publish_all, publisher, running_ingest_with_alarms

GUARD = ("guard-wang", "guard-password-1")
SMOKE = "dorm1-3-smoke-2"


@pytest.fixture(scope="module", autouse=True)
def demo_campus(db_url: str) -> None:
    """The demo campus (its checkpoints and routes) and a guard carrying card G-0001."""
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, load_site())
        add_user(conn, *GUARD, "guard", "Guard Wang", card="G-0001")




def test_a_guard_walks_an_extra_round_and_is_dispatched_from_the_console(browser, phone, dashboard_url, db_url,
                                                                         make_settings, mqtt_url):
    # The officer orders an extra round of the dormitory route (加巡).
    login(browser, dashboard_url, OFFICER, "/patrols")
    wait_until(lambda: "Dormitories, night round" in text(browser, "#patrols-routes"), 15, what="the routes")
    wait_until(lambda: click(browser, "#route-dorm-night button"), 10, 0.3, what="extra round clicked")
    wait_until(lambda: "Extra round started" in text(browser, "#patrols-msg"), 10)
    wait_until(lambda: "planned" in text(browser, "#patrols-tours"), 10, what="the tour listed")

    # The guard logs in on a phone and lands on their page: the tour and its first checkpoint.
    login(phone, dashboard_url, GUARD, "/console")
    wait_until(lambda: phone.current_url.endswith("/guard"), 10, what="a guard sent to /guard")
    wait_until(lambda: "Dormitories, night round" in text(phone, "#guard-tours"), 15, what="the tour on the phone")
    assert "Dorm 1 floor 1 checkpoint" in text(phone, "#guard-next")
    # Types the checkpoint's code (the weaker proof, recorded as such); the next checkpoint follows.
    phone.find_element(By.ID, "guard-code").send_keys("04:A1:10:01")
    phone.find_element(By.ID, "guard-scan").click()
    wait_until(lambda: "Recorded: on time." in text(phone, "#guard-msg"), 10, what="the scan recorded")
    wait_until(lambda: "Dorm 1 floor 3 checkpoint" in text(phone, "#guard-next"), 15, what="the next checkpoint")
    wait_until(lambda: phone.find_elements(By.CSS_SELECTOR, "#guard-floor .sc-dev-focus, #guard-floor img"), 10,
               what="its floor plan")
    # a hazard found on the round is reported where the guard last scanned
    phone.find_element(By.ID, "guard-hazard").send_keys("fire door wedged open with a chair")
    wait_until(lambda: click(phone, "#guard-hazard-btn"), 10, 0.3, what="report pressed")
    wait_until(lambda: "Hazard" in text(phone, "#guard-msg") and "reported" in text(phone, "#guard-msg"), 10)
    with psycopg.connect(db_url) as conn:
        hazard = conn.execute("SELECT source, building_id, room_id, department_id FROM hazards "
                              "WHERE created_by = %s", (GUARD[0],)).fetchone()
        tour = conn.execute("SELECT state, guard, visits FROM tours WHERE route_id = 'dorm-night' "
                            "ORDER BY id DESC LIMIT 1").fetchone()
    assert hazard == ("patrol", "dorm-1", "dorm1-1", "student-affairs")
    assert tour[0] == "running" and tour[1] == GUARD[0]
    assert tour[2]["cp-dorm1-1f"]["method"] == "typed" and tour[2]["cp-dorm1-1f"]["verdict"] == "on_time"

    # An alarm in the dormitory; the officer sends the guard from the console.
    with running_ingest_with_alarms(make_settings(), tick=False), publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/dorm-1/smoke/{SMOKE}",
                           {"event_id": secrets.token_hex(6), "ts": now_ts(), "state": "pre_alarm"})])
        alarm = wait_until(lambda: (alarms_for(db_url, SMOKE) or [None])[0], 15, what="the pre-alarm")
    browser.get(f"{dashboard_url}/console?alarm={alarm['id']}")
    wait_until(lambda: "Smoke pre-alarm" in text(browser, "#console-detail-box"), 15, what="the alarm opened")
    wait_until(lambda: click(browser, "#console-dispatch-guard"), 10, 0.3, what="guard list opened")

    def pick() -> bool:
        options = [o for o in browser.find_elements(By.CSS_SELECTOR, "[role=option]") if "Guard Wang" in o.text]
        return bool(options) and "on tour dorm-night" in options[0].text and (options[0].click() or True)

    wait_until(pick, 10, 0.3, what="Guard Wang (on tour) chosen")
    browser.find_element(By.ID, "console-dispatch-note").send_keys("check the third floor")
    browser.find_element(By.ID, "console-dispatch-btn").click()
    wait_until(lambda: "guard-wang dispatched." in text(browser, "#console-msg"), 10)
    wait_until(lambda: "dispatched" in text(browser, "#console-dispatches"), 10)

    # The phone shows the alarm; the guard goes on scene, then resolves it with a note.
    wait_until(lambda: "Smoke pre-alarm" in text(phone, "#guard-dispatches"), 20, what="the dispatch on the phone")
    assert "check the third floor" in text(phone, "#guard-dispatches")
    wait_until(lambda: click(phone, ".step-on_scene"), 10, 0.3, what="on scene pressed")
    wait_until(lambda: "Done: on scene." in text(phone, "#guard-msg"), 10)
    wait_until(lambda: "on scene" in text(browser, "#console-dispatches"), 15, what="the console told: on scene")
    wait_until(lambda: click(phone, ".step-resolved"), 10, 0.3, what="resolved pressed")
    wait_until(lambda: "say what you found and did" in text(phone, "#guard-msg"), 10, what="a note asked for")
    phone.find_element(By.ID, "guard-note").send_keys("burnt toast on floor 3, aired the room")
    wait_until(lambda: click(phone, ".step-resolved"), 10, 0.3, what="resolved pressed again")
    wait_until(lambda: "Done: resolved." in text(phone, "#guard-msg"), 10)
    wait_until(lambda: "resolved" in text(browser, "#console-dispatches"), 15, what="the console told: resolved")
    journal = text(browser, "#console-journal")
    for step in ("guard dispatched", "guard on scene", "guard resolved"):
        assert step in journal, journal
    assert "burnt toast" in text(browser, "#console-dispatches")
    assert console_errors(browser) == [] and console_errors(phone) == []


def test_the_sos_button_needs_two_presses_and_raises_a_critical_alarm(phone, dashboard_url, db_url):
    login(phone, dashboard_url, GUARD, "/guard")
    wait_until(lambda: phone.find_elements(By.ID, "guard-sos"), 15, what="the SOS button")
    time.sleep(0.5)
    phone.find_element(By.ID, "guard-sos").click()
    wait_until(lambda: "again" in text(phone, "#guard-sos-armed"), 10, what="armed, not sent")
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM alarms WHERE condition LIKE 'guard_sos:%'").fetchone()[0] == 0
    phone.find_element(By.ID, "guard-sos").click()
    wait_until(lambda: "SOS sent" in text(phone, "#guard-msg"), 10)
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT sensor_id, priority FROM alarms WHERE condition = %s",
                           (f"guard_sos:{GUARD[0]}",)).fetchone()
    assert row == ("cp-dorm1-1f", "critical")  # the guard's last checkpoint: where help goes


def test_guards_see_only_their_page_and_others_cannot_use_it(dashboard_url):
    guard = session(dashboard_url, GUARD)
    status, body = forge_callback(guard, dashboard_url, "console-ack.n_clicks", {"console-selected": 1})
    assert "Refused" in body
    status, body = forge_callback(guard, dashboard_url, "console-dispatch-btn.n_clicks",
                                  {"console-selected": 1, "console-dispatch-guard": GUARD[0]})
    assert "Refused" in body
    officer = session(dashboard_url, OFFICER)
    status, body = forge_callback(officer, dashboard_url, "guard-sos.n_clicks",
                                  {"guard-sos-armed": "Press SOS again to call for help now."})
    assert "Only a logged-in guard" in body
