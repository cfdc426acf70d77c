"""The wall screen in a real browser: alarms arrive by push, read-only, no console errors."""

import secrets
import time

from selenium.webdriver.common.by import By

from tests.conftest import wait_until
from tests.e2e.conftest import KIOSK, console_errors, text
from tests.integration.helpers import now_ts, publish_all, publisher, running_ingest_with_alarms


def test_wall_needs_a_kiosk_link_or_a_login(browser, dashboard_url):
    browser.delete_all_cookies()
    browser.get(f"{dashboard_url}/wall")
    wait_until(lambda: "kiosk link" in text(browser), 10)
    browser.get(f"{dashboard_url}/wall?kiosk=wrong-token")
    wait_until(lambda: "kiosk link" in text(browser), 10)
    assert not browser.find_elements(By.CSS_SELECTOR, ".sc-count")


def _open_wall(browser, dashboard_url: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{dashboard_url}/wall?kiosk={KIOSK}")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, ".sc-count"), 15, what="wall counts")
    time.sleep(1.5)  # the page has rendered and opened its event stream


def _force_door(pub, building: str) -> None:
    publish_all(pub, [(f"campus/v1/{building}/door/{building}-d1",
                       {"event_id": "e1", "ts": now_ts(), "event": "door_forced"})])


def test_wall_shows_a_newly_published_alarm_by_itself(browser, dashboard_url, make_settings, mqtt_url):
    _open_wall(browser, dashboard_url)
    building = f"bx{secrets.token_hex(3)}"
    with running_ingest_with_alarms(make_settings()), publisher(mqtt_url) as pub:
        started = time.monotonic()
        _force_door(pub, building)
        # No reload, and sooner than the 15 s fallback refresh: pushed by the server.
        wait_until(lambda: "Door forced open" in text(browser, ".sc-alarms"),
                   8, 0.1, what="the alarm on the wall")
        assert time.monotonic() - started < 8
    row = browser.find_element(By.CSS_SELECTOR, ".sc-alarm.sc-p-high")
    assert "HIGH" in row.text and "sc-unacked" in row.get_attribute("class")
    counts = browser.find_element(By.CSS_SELECTOR, ".sc-counts").text
    assert "high" in counts
    assert not browser.find_elements(By.TAG_NAME, "button")  # nothing to press on a wall screen
    assert console_errors(browser) == []


def test_wall_shows_ingest_and_broker_health(browser, dashboard_url, db_url):
    import psycopg
    from psycopg.types.json import Jsonb

    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM service_health")
    browser.get(f"{dashboard_url}/wall?kiosk={KIOSK}")
    wait_until(lambda: "ingest: not running" in text(browser, "#wall-services"), 15)
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO service_health (service, instance, status) VALUES ('ingest', 'i1', %s)",
                     (Jsonb({"status": "ok", "broker": "connected", "database": "ok"}),))
    time.sleep(1.2)  # the wall's shared one-second read cache expires
    browser.refresh()
    wait_until(lambda: "ingest ×1 ok · broker ok" in text(browser, "#wall-services"), 15)
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE service_health SET status = %s, updated_at = now()",
                     (Jsonb({"status": "degraded", "broker": "connected", "database": "unavailable"}),))
    time.sleep(1.2)
    browser.refresh()
    wait_until(lambda: "ingest: database unavailable" in text(browser, "#wall-services"), 15)
    assert console_errors(browser) == []


def test_wall_catches_up_after_the_dashboard_lost_its_database_listener(browser, dashboard_url, db_url, make_settings,
                                                                        mqtt_url):
    import psycopg

    from dashboard.live import FEED_APP_NAME

    _open_wall(browser, dashboard_url)
    building = f"bl{secrets.token_hex(3)}"
    with running_ingest_with_alarms(make_settings()), publisher(mqtt_url) as pub:
        with psycopg.connect(db_url, autocommit=True) as conn:
            # A database restart or failover, as the dashboard's LISTEN connection sees it.
            killed = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND application_name = %s",
                                  (FEED_APP_NAME,)).fetchall()
        assert killed == [(True,)]
        started = time.monotonic()
        # Raised while nobody listens: no notification reaches the dashboard for it.
        _force_door(pub, building)
        # Shown once the listener is back, well before the 15 s fallback refresh.
        wait_until(lambda: f"{building}-d1" in text(browser, ".sc-alarms"), 7, 0.1,
                   what="the alarm on the wall after the listener came back")
        assert time.monotonic() - started < 7


def test_the_wall_clock_shows_campus_time_in_a_browser_elsewhere(browser, dashboard_url):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    try:
        _open_wall(browser, dashboard_url)
        shown = wait_until(lambda: text(browser, "#wall-clock").strip() or None, 10, what="the wall clock")
        campus = datetime.now(ZoneInfo("Asia/Shanghai"))
        allowed_ = {(campus - timedelta(seconds=s)).strftime("%H:%M") for s in (0, 5)}  # a minute may just turn
        assert shown[:5] in allowed_, (shown, allowed_)
        here = datetime.now(ZoneInfo("America/New_York")).strftime("%H:%M")
        assert shown[:5] != here  # 12 or 13 hours apart: not the browser's own clock
    finally:
        browser.get("about:blank")
        browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})
    assert console_errors(browser) == []
