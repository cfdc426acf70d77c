"""Headless Chromium (Debian's chromium + chromium-driver) and a live dashboard process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from ingest.app.embedded import pick_port, wait_for_port
from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def new_browser(accept_language: str = "en-US,en") -> webdriver.Chrome:
    """A headless Chromium (its own cookies) asking for ``accept_language``; fails loudly if not installed."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("headless Chromium is required: install Debian packages chromium and chromium-driver "
                    "(make test does this when it may)", pytrace=False)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--window-size=1920,1080"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"intl.accept_languages": accept_language})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the session."""
    driver = new_browser()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def _own_browser_log(request: pytest.FixtureRequest) -> None:
    """A test that uses the shared browser starts on a blank page with an empty console log: what
    an earlier module's page logged (its stream cut when its dashboard stopped, the reconnects
    refused) belongs to that module, not to this test.
    """
    if "browser" in request.fixturenames:
        driver = request.getfixturevalue("browser")
        driver.get("about:blank")
        driver.get_log("browser")


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """Severe console messages since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


KIOSK = "test-kiosk-token-123"
OFFICER = ("duty-officer", "officer-password-1")
OFFICER2 = ("night-officer", "officer-password-2")
VIEWER = ("viewer-one", "viewer-password-1")
ADMIN = ("admin-one", "admin-password-1")


@pytest.fixture(scope="module")
def users(db_url: str) -> None:
    """An officer and a viewer account."""
    import psycopg

    from ingest.accounts import add_user

    with psycopg.connect(db_url) as conn:
        add_user(conn, *OFFICER, "officer", "Officer Zhang")
        add_user(conn, *VIEWER, "viewer", "Viewer Li")
        add_user(conn, *OFFICER2, "officer", "Officer Chen")
        add_user(conn, *ADMIN, "admin", "Admin Wu")


@contextmanager
def dashboard_process(db_url: str, log_dir, **env_extra: str) -> Iterator[str]:
    """``safecampus dashboard`` on a free port against ``db_url`` (extra environment allowed, e.g. TZ)."""
    port = pick_port(0)
    log = log_dir / f"dashboard-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_DB_URL": db_url, "SAFECAMPUS_DASHBOARD_PORT": str(port),
            "SAFECAMPUS_KIOSK_TOKEN": KIOSK, "SAFECAMPUS_SECRET_KEY": "test-secret-key",
            # the tests below read English; tests/e2e/test_languages.py reads both
            "SAFECAMPUS_SITE_LANGUAGE": "en"} | env_extra
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ingest.app.cli", "dashboard"], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        if not wait_for_port(port, 30):
            pytest.fail(f"dashboard did not start:\n{log.read_text()[-2000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def dashboard_url(db_url: str, users: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dashboard process on a free port against this module's database."""
    with dashboard_process(db_url, tmp_path_factory.mktemp("dash")) as url:
        yield url


def login(driver: webdriver.Chrome, base: str, user: tuple[str, str], next_path: str = "/console") -> None:
    """Log in through the real form."""
    from selenium.webdriver.common.by import By

    driver.get("about:blank")  # no page of the previous user keeps a stream open (it would be refused, and log it)
    driver.delete_all_cookies()
    driver.get(f"{base}/login?next={next_path}")
    driver.find_element(By.ID, "username").send_keys(user[0])
    driver.find_element(By.ID, "password").send_keys(user[1])
    driver.find_element(By.ID, "login-submit").click()


def text(driver: webdriver.Chrome, css: str = "body") -> str:
    """The text of an element, or '' while Dash re-renders it or the page is being replaced."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.CSS_SELECTOR, css).text
    except WebDriverException:  # stale, not there yet, or asked mid-navigation ("inspector error")
        return ""


def session(base: str, user: tuple[str, str] | None = None) -> urllib.request.OpenerDirector:
    """An HTTP client with a cookie jar, logged in as ``user`` through the real form (or anonymous)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    if user:
        body = urllib.parse.urlencode({"username": user[0], "password": user[1], "next": "/console"}).encode()
        opener.open(urllib.request.Request(f"{base}/login", data=body, headers={"Origin": base})).read()
    return opener


def forge_callback(opener: urllib.request.OpenerDirector, base: str, trigger: str, values: dict[str, object],
                   origin: str | None = None) -> tuple[int, str]:
    """Call the Dash callback that ``trigger`` ("component.property") fires, as a browser would,
    with ``values`` for its other inputs and states (by "id.property" or id); returns (status, body)."""
    deps = json.loads(opener.open(f"{base}/_dash-dependencies").read())
    tid, tprop = trigger.split(".")
    cb = next(d for d in deps if any(i["id"] == tid and i["property"] == tprop for i in d["inputs"]))

    def item(i: dict, trig: bool) -> dict:
        value = values.get(f"{i['id']}.{i['property']}", values.get(i["id"]))
        return {"id": i["id"], "property": i["property"], "value": 1 if trig and tprop == "n_clicks" else value}
    inputs = [item(i, i["id"] == tid and i["property"] == tprop) for i in cb["inputs"]]
    state = [item(s, False) for s in cb["state"]]
    outputs: list | dict = [{"id": o.split(".")[0], "property": o.split(".")[1]}
                            for o in cb["output"].strip(".").split("...")]
    if not cb["output"].startswith(".."):  # a single output is sent on its own, not in a list
        outputs = outputs[0]
    body = json.dumps({"output": cb["output"], "outputs": outputs, "inputs": inputs, "state": state,
                       "changedPropIds": [trigger]}).encode()
    req = urllib.request.Request(f"{base}/_dash-update-component", data=body,
                                 headers={"Content-Type": "application/json", "Origin": origin or base})
    with opener.open(req) as resp:
        return resp.status, resp.read().decode()


@pytest.fixture
def phone() -> Iterator[webdriver.Chrome]:
    """A headless Chromium the size of a phone (390 × 844), its own cookies."""
    driver = new_browser()
    driver.set_window_size(390, 844)
    try:
        yield driver
    finally:
        driver.quit()


def click(driver: webdriver.Chrome, css: str) -> bool:
    """Click an element; False when Dash replaced it between finding and clicking, or something covers
    it for now (ask again).
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        driver.find_element(By.CSS_SELECTOR, css).click()
    except WebDriverException:
        return False
    return True
