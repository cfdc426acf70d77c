"""The dashboard side of the trust issue, against real dashboard processes and PostgreSQL.

Campus time whatever zone the server runs in; sessions that can be revoked; exact origin
checks; password limits shared by every process; CSV cells that cannot run as formulas;
names on the site plan shown as written.
"""

import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from flask import Flask

from dashboard import floormap
from dashboard.report.spreadsheet import csv_cell
from ingest.accounts import add_user
from ingest.db.registry import load_site
from tests.e2e.conftest import OFFICER, VIEWER, console_errors, dashboard_process, forge_callback, session
from tests.integration.helpers import tiny_site

CAMPUS = ZoneInfo("Asia/Shanghai")


def _status(opener, url, data=None, headers=None) -> int:
    try:
        with opener.open(urllib.request.Request(url, data=data, headers=headers or {})) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


# -- 7. times a person reads follow the campus, not the server process ----------------------------

@pytest.fixture(scope="module")
def campus_evening(db_url, users):
    """An alarm raised at 18:50 campus time today and a duty-log entry at 00:30 campus time today."""
    tag = "tz1"
    with psycopg.connect(db_url) as conn:
        load_site(conn, tiny_site(tag, doors=1))
        today = datetime.now(CAMPUS).date()
        raised = datetime(today.year, today.month, today.day, 18, 50, 7, tzinfo=CAMPUS)
        early = datetime(today.year, today.month, today.day, 0, 30, tzinfo=CAMPUS)  # yesterday in UTC and New York
        conn.execute("INSERT INTO alarms (sensor_id, building_id, condition, family, signal_class, priority, state,"
                     " active, message, raised_at, last_seen_at) VALUES (%s, %s, 'tamper', 'door', 'alarm', 'high',"
                     " 'active_unacked', true, 'Reader or door tamper', %s, %s)",
                     (f"door{tag}-0", f"b{tag}", raised, raised))
        conn.execute("INSERT INTO duty_log (author, kind, at, note) VALUES ('duty-officer', 'equipment', %s, %s)",
                     (early, "=HYPERLINK(\"http://x.example\",\"click\")"))
        conn.commit()
    return today


@pytest.mark.parametrize("server_tz", ["UTC", "America/New_York"])
def test_7_console_handover_and_duty_log_show_campus_time_whatever_the_server_zone(
        db_url, campus_evening, tmp_path, server_tz):
    with dashboard_process(db_url, tmp_path, TZ=server_tz, SAFECAMPUS_SITE_TIMEZONE="Asia/Shanghai") as base:
        opener = session(base, OFFICER)
        _, body = forge_callback(opener, base, "console-tick.n_intervals", {})
        rows = json.loads(body)["response"]["console-queue"]["data"]
        assert any(r["raised"].endswith(" 18:50:07") for r in rows), rows  # not 10:50 (UTC) nor 05:50 (New York)
        _, body = forge_callback(opener, base, "ho-tick.n_intervals", {})
        log = json.dumps(json.loads(body)["response"]["ho-log"])
        assert "00:30" in log  # today's log on campus holds the 00:30 entry (yesterday on the server)
        with opener.open(f"{base}/duty-log/{campus_evening.isoformat()}.csv") as r:
            csv_text = r.read().decode()
        row = next(r for r in csv.reader(io.StringIO(csv_text)) if "HYPERLINK" in r[3])
        assert row[0] == f"{campus_evening.isoformat()}T00:30:00+08:00"
        assert row[3].startswith("'=HYPERLINK")  # 10. spreadsheet injection: the formula is text


def test_10_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    for cell in ("=1+2", "+1", "-1+cmd", "@SUM(A1)", "\t=x", "\r=x"):
        assert csv_cell(cell).startswith("'")
    assert csv_cell("door checked") == "door checked" and csv_cell(-3) == -3 and csv_cell(None) is None


def test_10_building_names_on_the_site_plan_are_text_not_markup():
    name = "<b>Lab</b> & <a href='x'>go</a>"
    with Flask(__name__).test_request_context():
        pane = floormap.campus([{"id": "b1", "name": name, "outline": [[0, 0], [1, 0], [1, 1]], "worst": None}],
                               str, links=True)
    building = pane.children.children[0]
    lines = [span.children for span in building.children.children]
    assert all(isinstance(t, str) for t in lines) and " ".join(lines) == name  # React renders strings as text
    assert building.title == name and building.href == "/map?building=b1"


# -- 10. sessions, origin and password limits -------------------------------------------------------

def test_10_a_role_change_a_new_password_and_a_logout_revoke_older_sessions(db_url, users, tmp_path):
    name, pw = "revoke-me", "revoke-password-1"
    with psycopg.connect(db_url) as conn:
        add_user(conn, name, pw, "officer")
    with dashboard_process(db_url, tmp_path) as base:
        today = datetime.now(CAMPUS).date().isoformat()
        csv_url = f"{base}/duty-log/{today}.csv"
        officer = session(base, (name, pw))
        assert _status(officer, csv_url) == 200
        with psycopg.connect(db_url) as conn:
            add_user(conn, name, pw, "viewer")  # demoted (same password)
        assert _status(officer, csv_url) == 401  # the officer's cookie no longer works at all
        again = session(base, (name, pw))
        assert _status(again, csv_url) == 200
        with psycopg.connect(db_url) as conn:
            add_user(conn, name, "a-new-password-2", "viewer")
        assert _status(again, csv_url) == 401
        third = session(base, (name, "a-new-password-2"))
        cookie = [c for c in third.handlers if isinstance(c, urllib.request.HTTPCookieProcessor)][0].cookiejar
        saved = [(c.name, c.value) for c in cookie]
        assert _status(third, f"{base}/logout") == 200  # redirected to the login page
        stolen = urllib.request.build_opener()
        stolen.addheaders = [("Cookie", "; ".join(f"{k}={v}" for k, v in saved))]
        assert _status(stolen, csv_url) == 401  # a cookie from before logout is dead


def test_10_the_origin_check_compares_scheme_host_and_port_exactly(dashboard_url):
    from dashboard.auth import same_origin

    host = urllib.parse.urlsplit(dashboard_url)
    opener = session(dashboard_url, VIEWER)
    for evil in (f"{dashboard_url}.evil.example", f"http://{host.hostname}:{host.port}@evil.example",
                 f"https://{host.hostname}:{host.port}", f"http://{host.hostname}:{host.port + 1}"):
        assert _status(opener, f"{dashboard_url}/login", b"username=x&password=y", {"Origin": evil}) == 403, evil
    assert _status(opener, f"{dashboard_url}/login", b"username=x&password=y", {"Origin": dashboard_url}) == 401
    assert same_origin("http://a.example", "http://a.example:80/") and not same_origin("http://a.example:x", "http://a/")


def test_10_password_limits_are_shared_by_every_process_and_never_lock_the_real_user_out(db_url, users, tmp_path):
    name, pw = "limited-officer", "limited-password-1"
    with psycopg.connect(db_url) as conn:
        add_user(conn, name, pw, "officer")
    with dashboard_process(db_url, tmp_path) as one, dashboard_process(db_url, tmp_path) as two:
        wrong = urllib.parse.urlencode({"username": name, "password": "guess"}).encode()
        codes = [_status(session(base), f"{base}/login", wrong, {"Origin": base})
                 for base in (one, two, one, two, one, two)]
        assert codes == [401, 401, 401, 401, 401, 429]  # five wrong in two processes, then a pause
        right = urllib.parse.urlencode({"username": name, "password": pw}).encode()
        assert _status(session(one), f"{one}/login", right, {"Origin": one}) == 429  # paused for everyone...
        with psycopg.connect(db_url) as conn:
            until = conn.execute("SELECT blocked_until FROM login_failures WHERE scope = 'account' AND key = %s",
                                 (name,)).fetchone()[0]
        assert timedelta(seconds=5) < until - datetime.now(UTC) <= timedelta(seconds=16)  # ...for seconds, not for ever
        with psycopg.connect(db_url) as conn:  # let the pause run out (15 s; not waited for here)
            conn.execute("UPDATE login_failures SET blocked_until = now() - interval '1 s' WHERE key = %s", (name,))
            conn.commit()
        assert _status(session(two), f"{two}/login", right, {"Origin": two}) == 200  # the real user gets in
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT count(*) FROM login_failures WHERE scope = 'account' AND key = %s",
                                (name,)).fetchone()[0] == 0
        # The handover sign-off's password check is the same limited check.
        officer = session(one, OFFICER)
        for _ in range(6):  # five wrong ones pause the account; the sixth is refused unchecked
            _, body = forge_callback(officer, one, "ho-sign.n_clicks",
                                     {"ho-incoming": name, "ho-incoming-pw": "guess"})
        assert "Too many wrong passwords" in body


def test_15_a_change_made_elsewhere_appears_on_an_open_handover_page_without_a_reload(
        browser, dashboard_url, db_url, users):
    from ingest.alarms import actions
    from tests.conftest import wait_until
    from tests.e2e.conftest import login, text

    with psycopg.connect(db_url) as conn:
        load_site(conn, tiny_site("ho1", doors=1))
        now = datetime.now(UTC)
        alarm_id = conn.execute(
            "INSERT INTO alarms (sensor_id, building_id, condition, family, signal_class, priority, state, active,"
            " message, raised_at, last_seen_at) VALUES ('doorho1-0', 'bho1', 'held_open', 'door', 'alarm', 'medium',"
            " 'active_unacked', true, 'Handover live check', %s, %s) RETURNING id", (now, now)).fetchone()[0]
        conn.commit()
    login(browser, dashboard_url, OFFICER, "/console/handover")
    line = lambda: next((x for x in text(browser, "#ho-open").splitlines() if "Handover live check" in x), "")  # noqa: E731
    assert "active, unacknowledged" in wait_until(line, 15, what="the open alarm on the handover page")
    with psycopg.connect(db_url) as conn:  # another officer, at another console
        actions.acknowledge(conn, alarm_id, "night-officer", "on my way")
    assert "active, acknowledged" in wait_until(lambda: "active, acknowledged" in line() and line(), 10,
                                        what="the acknowledgement pushed to the open page")
    assert console_errors(browser) == []
    # Leave no open stream (nor a session) behind for the next module's dashboard.
    browser.delete_all_cookies()
    browser.get("about:blank")
