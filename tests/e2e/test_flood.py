"""A flood in the browser: the console pages the queue with its true total, groups it and
acknowledges a whole group with one note; the wall switches to its flood summary and says what
it does not show, at 1080p and 2160p.
"""

from __future__ import annotations

import json
import secrets
import time

import psycopg
import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By

from ingest.core.site import Site
from ingest.db.registry import load_site as load_into_db
from tests.conftest import wait_until
from tests.e2e.conftest import KIOSK, OFFICER, VIEWER, console_errors, forge_callback, login, new_browser, session, text
from tests.integration.helpers import now_ts, publish_all, publisher, running_ingest_with_alarms, scalar

TAG = secrets.token_hex(3)
SIZES = {"north": 30, "south": 20}  # forced doors per building


@pytest.fixture(scope="module", autouse=True)
def flood(db_url, mqtt_url, make_settings_module) -> None:
    """50 forced doors in two buildings, raised through the real ingest and engine within seconds."""
    site = Site.model_validate({
        "name": "t", "departments": [{"id": "d", "name": "Dept"}],
        "buildings": [{"id": f"{b}{TAG}", "name": f"{b.title()} Hall", "use": "dorm", "department": "d",
                       "outline": [[0, 0], [1, 0], [1, 1]],
                       "rooms": [{"id": f"r-{b}{TAG}", "name": "Hall", "use": "dorm",
                                  "sensors": [{"kind": "door", "count": n}]}]}
                      for b, n in SIZES.items()]})
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, site)
    with running_ingest_with_alarms(make_settings_module(), tick=False), publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/{s.building}/door/{s.id}", {"event_id": "f1", "ts": now_ts(),
                                                                   "event": "door_forced"}) for s in site.sensors])
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM alarms") == 50, 15, what="50 alarms")


@pytest.fixture(scope="module")
def make_settings_module(db_url, mqtt_url, tmp_path_factory):
    from tests.integration.helpers import own_ingest_settings

    return lambda: own_ingest_settings(db_url, mqtt_url)


def _choose(browser, dropdown: str, option: str) -> None:
    browser.find_element(By.ID, dropdown).click()

    def pick():
        for o in browser.find_elements(By.CSS_SELECTOR, "[role=option]"):
            try:
                if option in o.text:
                    o.click()
                    return True
            except (StaleElementReferenceException, WebDriverException):
                return False
        return False
    wait_until(pick, 10, 0.2, what=f"option {option!r}")


def test_the_console_pages_the_flood_groups_it_and_acknowledges_a_group_with_one_note(browser, dashboard_url,
                                                                                       db_url):
    login(browser, dashboard_url, OFFICER)
    wait_until(lambda: "Alarms 1–18 of 50" in text(browser, "#console-total"), 15, what="the true total")

    def last_page():
        try:
            browser.find_element(By.CSS_SELECTOR, "#console-queue button.last-page").click()
        except WebDriverException:
            return False
        time.sleep(0.5)
        return "Alarms 37–50 of 50" in text(browser, "#console-total")
    wait_until(last_page, 15, 0.2, what="the last page")
    _choose(browser, "f-group", "group by building")
    wait_until(lambda: "North Hall" in text(browser, "#console-groups") and "South Hall" in text(
        browser, "#console-groups"), 10, what="the groups")
    rows = browser.find_elements(By.CSS_SELECTOR, "#console-groups tr")
    north = next(r for r in rows if "North Hall" in r.text)
    assert "30" in north.text
    north.find_element(By.CSS_SELECTOR, "input[type=radio]").click()
    wait_until(lambda: "of 30 · group: North Hall" in text(browser, "#console-total"), 10, what="the group's queue")
    browser.find_element(By.ID, "console-group-note").send_keys("flood: north wing alarm panel tested")
    browser.find_element(By.ID, "console-group-ack").click()
    wait_until(lambda: "Acknowledged 30 alarms of North Hall." in text(browser, "#console-msg"), 15,
               what="the group acknowledged")
    with psycopg.connect(db_url) as conn:
        by_building = dict(conn.execute("SELECT building_id, count(*) FILTER (WHERE state = 'active_acked') "
                                        "FROM alarms GROUP BY 1").fetchall())
        notes = conn.execute("SELECT count(*), count(DISTINCT alarm_id), min(note), min(actor) FROM alarm_journal "
                             "WHERE action = 'acknowledged'").fetchone()
    assert by_building == {f"north{TAG}": 30, f"south{TAG}": 0}
    assert notes == (30, 30, "flood: north wing alarm panel tested", OFFICER[0])

    def north_cells():
        try:
            row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#console-groups tr") if "North" in r.text)
            return [c.text for c in row.find_elements(By.CSS_SELECTOR, "td")][1:4]
        except (StopIteration, StaleElementReferenceException):
            return []
    wait_until(lambda: north_cells() == ["North Hall", "30", "0"], 10, what="the group with none unacknowledged")
    assert console_errors(browser) == []


def test_a_viewer_cannot_acknowledge_a_group(dashboard_url, db_url):
    opener = session(dashboard_url, VIEWER)
    before = scalar(db_url, "SELECT count(*) FROM alarm_journal WHERE action = 'acknowledged'")
    status, body = forge_callback(opener, dashboard_url, "console-group-ack.n_clicks", {
        "console-group": {"by": "building", "key": f"south{TAG}", "label": "South Hall"},
        "console-groups": [{"key": f"south{TAG}", "label": "South Hall", "read_at": "2100-01-01T00:00:00+00:00"}]})
    assert status == 200 and "Refused" in json.loads(body)["response"]["console-msg"]["children"]
    assert scalar(db_url, "SELECT count(*) FROM alarm_journal WHERE action = 'acknowledged'") == before


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
def test_the_wall_in_a_flood_summarises_and_never_hides_rows_without_saying_so(dashboard_url, size):
    driver = new_browser()
    try:
        driver.set_window_size(*size)
        driver.get(f"{dashboard_url}/wall?kiosk={KIOSK}")
        wait_until(lambda: "ALARM FLOOD since" in text(driver, "#wall-flood"), 15, what="the flood banner")
        time.sleep(0.5)
        assert "50 alarms" in text(driver, "#wall-flood")
        assert "North Hall" in text(driver, "#wall-flood-groups") and "South Hall" in text(driver, "#wall-flood-groups")
        shown = len(driver.find_elements(By.CSS_SELECTOR, "#wall-alarms .sc-alarm"))
        assert f"+{50 - shown} more alarms" in text(driver, "#wall-more")
        cut = driver.execute_script("""
            var box = document.getElementById('wall-alarms').getBoundingClientRect();
            return Array.from(document.querySelectorAll('#wall-alarms > *')).filter(function (e) {
              var r = e.getBoundingClientRect(); return r.bottom > box.bottom + 0.5 || r.right > box.right + 0.5;
            }).map(function (e) { return e.id || e.className; });""")
        assert cut == [], size  # everything in the list is whole; what is not there is counted
    finally:
        driver.quit()
