"""Inspections and hazards in real browsers: an inspection done on a 390 × 844 phone and signed by the
inspected department's head with their password; a hazard reported from an alarm in the console, its
fix reported by the department and verified by security; the safety page's walk test.
"""

from __future__ import annotations

import secrets
import time

import psycopg
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from ingest.accounts import add_user
from ingest.core.sitefile import load_site
from ingest.db.registry import load_site as load_into_db
from tests.conftest import wait_until
from tests.e2e.conftest import OFFICER, click, console_errors, login, text
from tests.integration.helpers import alarms_for, now_ts, publish_all, publisher, running_ingest_with_alarms

HEAD = ("head-chem", "head-password-1")
STAFF = ("staff-chem", "staff-password-1")
SMOKE = "labs-203-smoke-2"


@pytest.fixture(scope="module", autouse=True)
def demo_campus(db_url: str) -> None:
    """The demo campus (its inspection plans), the chemistry school's head and one of its staff."""
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, load_site())
        add_user(conn, *HEAD, "viewer", "Head Qian", department="chem-bio", head=True)
        add_user(conn, *STAFF, "viewer", "Technician Sun", department="chem-bio")




def test_an_inspection_on_a_phone_signed_by_the_departments_head(phone, dashboard_url, db_url):
    login(phone, dashboard_url, OFFICER, "/inspections")
    wait_until(lambda: "Lab gas cylinders" in text(phone, "#insp-plans"), 15, what="the plans")
    assert "by " in text(phone, "#plan-labs-cylinders")  # due by the end of the month
    wait_until(lambda: click(phone, "#plan-labs-cylinders button"), 10, 0.3, what="inspect pressed")
    wait_until(lambda: phone.find_elements(By.CSS_SELECTOR, ".sc-insp-row"), 10, what="the checklist")
    rows = phone.find_elements(By.CSS_SELECTOR, ".sc-insp-row")
    assert len(rows) == 4
    phone.find_element(By.ID, "insp-submit").click()
    wait_until(lambda: "tick every item" in text(phone, "#insp-msg"), 10, what="every item asked for")
    for n, row in enumerate(rows):
        radios = row.find_elements(By.CSS_SELECTOR, "input[type=radio]")
        radios[1 if n == 0 else 0].click()  # the first item failed, the rest passed
    rows[0].find_element(By.CSS_SELECTOR, "input[type=text], input:not([type])").send_keys("cylinder loose in 203")
    phone.find_element(By.ID, "insp-floor").send_keys("2")
    # the floor's plan appears: a tap places the inspection on it (no GPS indoors)
    plan = wait_until(lambda: phone.find_elements(By.CSS_SELECTOR, "#insp-floorplan .sc-floor"), 10, what="the plan")[0]
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", plan)
    ActionChains(phone).move_to_element_with_offset(plan, 10, 5).click().perform()
    wait_until(lambda: phone.find_elements(By.CSS_SELECTOR, "#insp-floorplan .sc-insp-pin"), 5, what="the pin")
    phone.find_element(By.ID, "insp-submit").click()
    wait_until(lambda: "submitted" in text(phone, "#insp-msg"), 10, what="the inspection submitted")
    assert "1 hazards opened" in text(phone, "#insp-msg")
    # the head of the chemistry school signs on the inspector's phone with their password
    phone.find_element(By.ID, "insp-head").send_keys(STAFF[0])
    phone.find_element(By.ID, "insp-head-pw").send_keys(STAFF[1])
    phone.find_element(By.ID, "insp-sign").click()
    wait_until(lambda: "only the head" in text(phone, "#insp-msg"), 10, what="staff refused")
    for ident, value in (("insp-head", HEAD[0]), ("insp-head-pw", HEAD[1])):
        field = phone.find_element(By.ID, ident)
        field.send_keys(Keys.CONTROL + "a", Keys.DELETE)  # typed over as a person would (React sees it)
        field.send_keys(value)
    phone.find_element(By.ID, "insp-sign").click()
    wait_until(lambda: "signed by head-chem" in text(phone, "#insp-msg"), 10, what="signed")
    wait_until(lambda: "done" in text(phone, "#plan-labs-cylinders"), 15, what="the plan done this month")
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT state, head, floor, results -> 'secured' ->> 'note' FROM inspections "
                           "WHERE plan_id = 'labs-cylinders'").fetchone()
        xy = conn.execute("SELECT plan_x, plan_y FROM inspections WHERE plan_id = 'labs-cylinders'").fetchone()
        hazard = conn.execute("SELECT department_id, source, category FROM hazards WHERE source = 'inspection'"
                              ).fetchone()
    assert row == ("signed", HEAD[0], 1, "cylinder loose in 203")
    assert xy[0] is not None and xy[1] is not None  # where on the floor's plan
    assert hazard == ("chem-bio", "inspection", "other")
    assert console_errors(phone) == []


def test_a_hazard_from_an_alarm_to_its_verified_closure(browser, phone, dashboard_url, db_url, make_settings,
                                                        mqtt_url):
    with running_ingest_with_alarms(make_settings(), tick=False), publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/labs/smoke/{SMOKE}",
                           {"event_id": secrets.token_hex(6), "ts": now_ts(), "state": "pre_alarm"})])
        alarm = wait_until(lambda: (alarms_for(db_url, SMOKE) or [None])[0], 15, what="the pre-alarm")
    login(browser, dashboard_url, OFFICER, f"/console?alarm={alarm['id']}")
    wait_until(lambda: "Smoke pre-alarm" in text(browser, "#console-detail-box"), 15, what="the alarm opened")
    wait_until(lambda: click(browser, "#console-hazard-btn"), 10, 0.3, what="report a hazard")
    wait_until(lambda: "Hazard" in text(browser, "#console-msg"), 10, what="the hazard reported")
    with psycopg.connect(db_url) as conn:
        hid, department = conn.execute("SELECT id, department_id FROM hazards WHERE source = 'alarm' AND "
                                       "source_ref = %s", (str(alarm["id"]),)).fetchone()
    assert department == "chem-bio"  # the lab building's department, from the alarm's place
    # the department reports its fix on a phone
    login(phone, dashboard_url, STAFF, f"/hazards?hazard={hid}")
    wait_until(lambda: f"#{hid}" in text(phone, "#hz-detail"), 15, what="the hazard on the phone")
    phone.find_element(By.ID, "hz-note").send_keys("detector cleaned, dust from the works removed")
    wait_until(lambda: click(phone, "#hz-fix"), 10, 0.3, what="fix reported")
    wait_until(lambda: "Fix reported" in text(phone, "#hz-msg"), 10)
    # security accepts it in the console's browser
    browser.get(f"{dashboard_url}/hazards?hazard={hid}")
    wait_until(lambda: "fixed, awaiting verification" in text(browser, "#hz-detail"), 15, what="the fix seen")
    wait_until(lambda: click(browser, "#hz-accept"), 10, 0.3, what="accept pressed")
    wait_until(lambda: "hazard closed" in text(browser, "#hz-msg"), 10)
    wait_until(lambda: "fix verified" in text(browser, "#hz-journal"), 10, what="the journal")
    journal = text(browser, "#hz-journal")
    assert "reported" in journal and "fix reported" in journal and "staff-chem" in journal
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT state, closed_by FROM hazards WHERE id = %s", (hid,)).fetchone() == (
            "closed", OFFICER[0])
    assert console_errors(browser) == [] and console_errors(phone) == []


def test_an_officer_starts_and_ends_a_walk_test_on_the_safety_page(browser, dashboard_url, db_url):
    login(browser, dashboard_url, OFFICER, "/safety")
    wait_until(lambda: "School of Biological and Chemical Engineering" in text(browser, "#safety-departments"), 15,
               what="the departments")
    browser.find_element(By.ID, "safety-devices").send_keys("labs-203-smoke-1, labs-203-smoke-2")
    browser.find_element(By.ID, "safety-reason").send_keys("yearly detector test, lab 203")
    browser.find_element(By.ID, "safety-start").click()
    wait_until(lambda: "started" in text(browser, "#safety-msg"), 10, what="the walk test started")
    wait_until(lambda: "0 of 2 devices signalled" in text(browser, "#safety-tests"), 15, what="the test listed")
    time.sleep(0.5)
    wait_until(lambda: click(browser, "#safety-tests button"), 10, 0.3, what="end pressed")
    wait_until(lambda: "ended" in text(browser, "#safety-msg"), 10)
    with psycopg.connect(db_url) as conn:
        results = conn.execute("SELECT d.result FROM test_devices d JOIN test_sessions s ON s.id = d.session_id "
                               "WHERE s.reason = 'yearly detector test, lab 203'").fetchall()
    assert results == [("not_signalled",), ("not_signalled",)]
