"""The admin's notifications page in a real browser: the file in force, a test message through the
real notifier to a local receiver, its result on the page; a viewer may not send one."""

from __future__ import annotations

import secrets

import pytest
import yaml

from tests.conftest import wait_until
from tests.e2e.conftest import ADMIN, VIEWER, console_errors, dashboard_process, forge_callback, login, session, text
from tests.integration.helpers import IngestProcess, scalar
from tests.integration.receivers import HookReceiver


@pytest.fixture(scope="module")
def setup(db_url, mqtt_url, users, tmp_path_factory):
    rx = HookReceiver().start()
    tmp = tmp_path_factory.mktemp("notify-page")
    path = tmp / "notify.yaml"
    path.write_text(yaml.safe_dump({
        "console_url": "http://console.test",
        "channels": {"sms-gateway": {"type": "webhook", "url": rx.url("/hook/sms"), "label": "短信网关"}},
        "recipients": {"duty-officer": {"channel": "sms-gateway", "label": "值班员"}},
        "routes": [{"name": "fire", "match": {"condition": ["fire"]},
                    "steps": [{"notify": ["duty-officer"]}, {"notify": ["duty-officer"]},
                              {"notify": ["duty-officer"], "after_s": 600}],
                    "quiet_hours": {"start": "22:00", "end": "07:00"}}]}), encoding="utf-8")
    tag = secrets.token_hex(3)
    ingest = IngestProcess(db_url, mqtt_url, f"np{tag}", f"g{tag}", tmp, notify_file=str(path)).start()
    try:
        with dashboard_process(db_url, tmp, SAFECAMPUS_NOTIFY_FILE=str(path)) as base:
            yield base, rx
    finally:
        ingest.stop()
        rx.stop()


def test_admin_sees_the_routes_and_a_test_message_goes_through_the_notifier(setup, browser, db_url):
    base, rx = setup
    login(browser, base, ADMIN, "/admin/notifications")
    wait_until(lambda: "sms-gateway" in text(browser, "#notify-channels"), 15, what="the channels table")
    page = text(browser)
    assert "duty-officer" in page and "at raise" in page and "600 s later" in page and "22:00–07:00" in page
    status, body = forge_callback(session(base, ADMIN), base, "notify-send.n_clicks",
                                  {"notify-channel.value": "sms-gateway"})
    assert status == 200 and "queued for sms-gateway" in body
    wait_until(lambda: rx.on("/hook/sms"), 15, what="the test message at the receiver")
    got = rx.on("/hook/sms")[0]["body"]
    assert got["kind"] == "test" and got["recipient"] == ADMIN[0] and "sms-gateway" in got["title"]
    wait_until(lambda: "sent" in text(browser, "#notify-recent"), 20, what="the page to show it sent")
    assert not console_errors(browser)
    # Leave no open event stream behind: this module's dashboard stops, the next module's browser goes on.
    browser.delete_all_cookies()
    browser.get("about:blank")
    console_errors(browser)


def test_a_viewer_cannot_send_a_test_message(setup, db_url):
    base, _rx = setup
    before = scalar(db_url, "SELECT count(*) FROM notifications")
    status, body = forge_callback(session(base, VIEWER), base, "notify-send.n_clicks",
                                  {"notify-channel.value": "sms-gateway"})
    assert "Refused" in body
    assert scalar(db_url, "SELECT count(*) FROM notifications") == before
