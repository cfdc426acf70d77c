"""The wall screen in a real browser shows events as they arrive."""

import secrets
from datetime import UTC, datetime

from selenium.webdriver.common.by import By

from ingest.contract import format_ts
from tests.conftest import wait_until
from tests.e2e.conftest import console_errors
from tests.integration.helpers import publish_all, publisher, running_ingest


def test_wall_shows_a_newly_published_event_by_itself(browser, dashboard_url, make_settings, mqtt_url):
    browser.get(f"{dashboard_url}/wall")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, ".sc-count"), 15, what="wall counts")
    building = f"bx{secrets.token_hex(3)}"
    with running_ingest(make_settings()) as _svc, publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/{building}/door/{building}-d1",
                           {"event_id": "e1", "ts": format_ts(datetime.now(UTC)), "event": "door_forced"})])
        # No reload: the page refreshes itself.
        wait_until(lambda: f"{building}-d1" in browser.find_element(By.CSS_SELECTOR, ".sc-events").text,
                   15, 0.2, what="the event on the wall")
    row = browser.find_element(By.CSS_SELECTOR, ".sc-events").text
    assert "door forced" in row
    assert console_errors(browser) == []
