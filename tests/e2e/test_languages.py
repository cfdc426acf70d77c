"""Every page in Chinese and in English, in a real browser; one alarm read in both at once.

The demo campus (names in both languages) and alarms raised through the real lifecycle, on a
dashboard whose site language is zh-CN. A Chinese page passes when every visible text node
holds Chinese, or only numbers, units, ids and names (site ids, user names, gas formulas);
an English page shows no Chinese but the language switch's "中文".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from selenium.webdriver.common.by import By

from ingest.alarms import lifecycle
from ingest.alarms.messages import Text
from ingest.alarms.types import Raise, SensorInfo
from ingest.core.sitefile import load_site
from ingest.db.registry import load_site as load_into_db
from tests.conftest import ROOT, wait_until
from tests.e2e.conftest import (
    KIOSK,
    OFFICER,
    OFFICER2,
    console_errors,
    dashboard_process,
    new_browser,
    text,
)
from tests.e2e.conftest import (
    login as _login,
)

PLACE = "/map/place?building=labs&floor=1"
PAGES = ["/", "/console", "/console/handover", "/trends", "/sensors", "/reports/weekly", "/reports/health", "/map",
         "/map?building=labs", "/map?building=labs&floor=1", PLACE, "/patrols", "/reports/patrols", "/hazards",
         "/inspections", "/safety"]
GUARD = ("guard-zhao", "guard-password-1")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
# Words that are the same in every language: the product, formulas, units, standards, file kinds.
SAME_IN_ALL = ("SafeCampus", "English", "CSV", "ISA-18.2", "EEMUA", "p90", "ppm", "m/s", "°C", "%LEL", "LEL", "SOS",
               "CO2", "H2S", "NH3", "CL2", "HCL", "VOC", "CO", "O2", "PNG", "CST", "(a)", "(j)", "(k)")
VISIBLE_TEXT = """
const out = [];
const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walk.nextNode()) {
  const node = walk.currentNode, t = node.textContent.trim(), el = node.parentElement;
  if (!t || !el || el.closest('script,style,noscript')) continue;
  const style = getComputedStyle(el);
  if (!el.getClientRects().length || style.visibility === 'hidden' || style.display === 'none') continue;
  out.push(t);
}
for (const el of document.querySelectorAll('input[placeholder],textarea[placeholder]')) {
  if (el.getClientRects().length) out.push(el.getAttribute('placeholder'));
}
return out;
"""


@pytest.fixture(scope="module")
def campus(db_url, users):
    """The demo campus, and open alarms of several kinds raised through the lifecycle."""
    site = load_site()
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, site)
        smoke = next(s for s in site.sensors if s.kind == "smoke")
        door = next(s for s in site.sensors if s.kind == "door")
        lab = next(s for s in site.sensors if "temperature_c" in s.metrics)
        now = datetime.now(UTC) - timedelta(minutes=3)
        with conn.transaction():
            for sensor, sig in (
                (smoke, Raise("fire", "fire", "critical", "alarm", Text("fire"), now, latched=True)),
                (door, Raise("door_forced", "door", "high", "alarm", Text("door_forced"), now)),
                (lab, Raise("temp_high", "lab", "medium", "alarm",
                            Text("limit_high", {"what": "Temperature high", "value": 31.26, "limit": 30, "unit": "c",
                                                "stage": 1}), now, value=31.26)),
            ):
                info = SensorInfo(sensor.id, sensor.kind, sensor.building, sensor.zone)
                lifecycle.apply_raise(conn, info, sig, False, [{"step": "Check", "texts": {"en": "Check",
                                                                                           "zh-CN": "检查"},
                                                                 "done": False}])
    return site


@pytest.fixture(scope="module")
def browser():
    """A browser of this module's own: the language cookies it gets stay here."""
    driver = new_browser()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def chinese_dashboard(db_url, campus, tmp_path_factory):
    """A dashboard whose site language is Chinese (the demo campus's)."""
    with dashboard_process(db_url, tmp_path_factory.mktemp("dash-zh"), SAFECAMPUS_SITE_LANGUAGE="zh-CN") as url:
        yield url


def login(driver, base, user, next_path="/console") -> None:
    """Log in and wait until the browser has left the login page (the session cookie is set)."""
    _login(driver, base, user, next_path)
    wait_until(lambda: "/login" not in driver.current_url, 20, 0.1, what="the login to finish")


def _names(site) -> set[str]:
    names = {site.name, *(d.id for d in site.departments), *(b.id for b in site.buildings)}
    names |= {r.id for b in site.buildings for r in b.rooms} | {s.id for s in site.sensors}
    return names | {"duty-officer", "night-officer", "Officer Zhang", "Officer Chen", "Viewer Li", "Admin Wu"}


def _untranslated(strings: list[str], allowed: set[str]) -> list[str]:
    """The visible strings of a Chinese page that are neither Chinese nor only numbers, units and names."""
    bad = []
    for s in strings:
        if CJK.search(s):
            continue
        rest = s
        for word in sorted(allowed | set(SAME_IN_ALL), key=len, reverse=True):
            rest = rest.replace(word, " ")
        if re.search(r"[A-Za-z]{2,}", rest):  # a word left: English nobody translated
            bad.append(s)
    return bad


def _visible(driver) -> list[str]:
    return driver.execute_script(VISIBLE_TEXT)


def _settled(driver, needle: str) -> None:
    wait_until(lambda: needle in text(driver), 20, 0.2, what=f"{needle!r} on {driver.current_url}")


def test_every_page_in_chinese_shows_nothing_untranslated(browser, chinese_dashboard, campus):
    allowed = _names(campus)
    browser.delete_all_cookies()
    browser.get(f"{chinese_dashboard}/wall?kiosk={KIOSK}&lang=zh-CN")
    _settled(browser, "火警：感烟探测器报警")
    assert _untranslated(_visible(browser), allowed) == []
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    login(browser, chinese_dashboard, OFFICER, "/console")
    browser.get(f"{chinese_dashboard}/lang/zh-CN?next=/console")  # this browser asks for English: choose
    for path in PAGES:
        browser.get(chinese_dashboard + path)
        _settled(browser, {"/": "SafeCampus", "/reports/weekly": "复盘", "/reports/health": "报警系统健康",
                           "/reports/patrols": "电子巡查与派警", PLACE: "放置设备"}.get(path, "处置台"))
        wait_until(lambda: not _untranslated(_visible(browser), allowed), 10, 0.5,
                   what=f"every string of {path} in Chinese",
                   describe=lambda: repr(_untranslated(_visible(browser), allowed)[:10]))
    browser.get(f"{chinese_dashboard}/login")
    assert _untranslated(_visible(browser), allowed) == []
    assert "用户名" in text(browser) and "密码" in text(browser)
    assert console_errors(browser) == []


def test_every_page_in_english_shows_no_chinese(browser, chinese_dashboard, campus):
    browser.delete_all_cookies()
    browser.get(f"{chinese_dashboard}/wall?kiosk={KIOSK}&lang=en")
    _settled(browser, "Fire alarm: smoke detector in alarm")
    assert [s for s in _visible(browser) if CJK.search(s) and s != "中文"] == []
    login(browser, chinese_dashboard, OFFICER, "/console")
    browser.get(f"{chinese_dashboard}/lang/en?next=/console")
    for path in PAGES:
        browser.get(chinese_dashboard + path)
        _settled(browser, {"/": "SafeCampus", "/reports/weekly": "Weekly review",
                           "/reports/health": "Alarm-system health", "/reports/patrols": "Guard tours and dispatch",
                           PLACE: "Place devices"}.get(path, "Console"))
        wait_until(lambda: not [s for s in _visible(browser) if CJK.search(s) and s != "中文"], 10, 0.5,
                   what=f"no Chinese on {path}")
    assert console_errors(browser) == []


def test_the_guards_page_reads_in_each_language(browser, chinese_dashboard, campus, db_url):
    from ingest.accounts import add_user
    from ingest.alarms.engine import AlarmEngine
    from ingest.patrol.engine import PatrolEngine

    with psycopg.connect(db_url) as conn:
        add_user(conn, *GUARD, "guard", "Guard Zhao", card="G-0042")
        with conn.transaction():  # an extra round: the page shows a round, its next checkpoint and its plan
            PatrolEngine(AlarmEngine()).extra_tour(conn, "dorm-night", datetime.now(UTC).replace(microsecond=0))
    login(browser, chinese_dashboard, GUARD, "/guard")
    browser.get(f"{chinese_dashboard}/lang/zh-CN?next=/guard")
    _settled(browser, "下一个巡查点")
    assert "宿舍夜间巡查" in text(browser) and "1号宿舍楼 1 层巡查点" in text(browser)
    assert _untranslated(_visible(browser), _names(campus) | {"Guard Zhao"}) == []
    browser.get(f"{chinese_dashboard}/lang/en?next=/guard")
    _settled(browser, "Next checkpoint")
    assert "Dormitories, night round" in text(browser)
    assert [s for s in _visible(browser) if CJK.search(s) and s != "中文"] == []
    assert console_errors(browser) == []


def test_one_alarm_reads_in_chinese_for_one_officer_and_in_english_for_another(browser, chinese_dashboard, db_url):
    # An admin sets each officer's language with the CLI.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")} | {"SAFECAMPUS_DB_URL": db_url}
    for user, language in ((OFFICER[0], "zh-CN"), (OFFICER2[0], "en")):
        out = subprocess.run([sys.executable, "-m", "ingest.app.cli", "user", "lang", user, language], env=env,
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and f"user {user} reads {language}" in out.stdout, out.stderr
    bad = subprocess.run([sys.executable, "-m", "ingest.app.cli", "user", "lang", "nobody", "en"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "no user 'nobody'" in bad.stderr
    other = new_browser("zh-CN,zh")  # the second officer's browser asks for Chinese; their own setting wins
    try:
        login(browser, chinese_dashboard, OFFICER, "/console")
        login(other, chinese_dashboard, OFFICER2, "/console")
        wait_until(lambda: "温度过高：31.3 °C ≥ 30 °C（一级报警）" in text(browser, "#console-queue"), 20,
                   what="the alarm in Chinese")
        wait_until(lambda: "Temperature high: 31.3 °C ≥ 30 °C (first alarm)" in text(other, "#console-queue"), 20,
                   what="the same alarm in English")
        assert "火警" in text(browser, "#console-queue") and "Fire alarm" in text(other, "#console-queue")
        assert console_errors(other) == []
    finally:
        other.quit()


def test_the_switch_is_remembered_for_the_person(browser, chinese_dashboard, db_url):
    browser.delete_all_cookies()
    login(browser, chinese_dashboard, OFFICER2, "/console")
    wait_until(lambda: browser.find_elements(By.ID, "lang-zh-CN"), 20, what="the language switch")
    browser.find_element(By.ID, "lang-zh-CN").click()
    _settled(browser, "报警处置台")
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT language FROM users WHERE username = %s", (OFFICER2[0],)).fetchone()[0] == "zh-CN"
    browser.delete_all_cookies()  # another browser, another day: the person's own setting
    login(browser, chinese_dashboard, OFFICER2, "/console")
    _settled(browser, "报警处置台")
    wait_until(lambda: browser.find_elements(By.ID, "lang-en"), 20, what="the language switch")
    browser.find_element(By.ID, "lang-en").click()
    _settled(browser, "Alarm console")
    assert "/console" in browser.current_url
