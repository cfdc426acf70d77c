"""Take screenshots of every page with headless Chromium (Debian's chromium + chromium-driver).

Usage: .venv/bin/python docs/screenshots/take.py BASE_URL KIOSK_TOKEN USER PASSWORD [LANG [SIZE ...]]
Writes <page>-1080p.png and <page>-2160p.png next to this file; with LANG (zh-CN or en) the pages
in that language as <page>-<LANG>-<size>.png (sizes: 1080p, 2160p, phone). With SC_GUARD=user:password
in the environment, also the guard's page (guard-<suffix>.png, the whole page); SC_PAGES=a,b only those
pages (names as the files: console, wall, patrols, ...).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

HERE = Path(__file__).resolve().parent
SIZES = {"1080p": (1920, 1080), "2160p": (3840, 2160), "phone": (390, 844)}


def driver(width: int, height: int) -> webdriver.Chrome:
    """A headless Chromium whose page area is width x height."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                f"--window-size={width},{height}"):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_window_size(width, height)
    inner = d.execute_script("return [window.innerWidth, window.innerHeight]")
    d.set_window_size(width + (width - inner[0]), height + (height - inner[1]))
    return d


def main() -> None:
    """Log in once per size, visit each page, save the shots."""
    base, kiosk, user, password = sys.argv[1:5]
    lang = sys.argv[5] if len(sys.argv) > 5 else None
    sizes = sys.argv[6:] or ["1080p", "2160p"]
    for name in sizes:
        w, h = SIZES[name]
        suffix = f"{lang}-{name}" if lang else name
        d = driver(w, h)
        only = set(filter(None, os.environ.get("SC_PAGES", "").split(",")))

        def shot(page: str) -> None:
            if not only or page in only:
                d.save_screenshot(str(HERE / f"{page}-{suffix}.png"))
        try:
            d.get(f"{base}/wall?kiosk={kiosk}" + (f"&lang={lang}" if lang else ""))
            time.sleep(4)
            shot("wall")
            d.get(f"{base}/login")
            shot("login")
            d.find_element(By.ID, "username").send_keys(user)
            d.find_element(By.ID, "password").send_keys(password)
            d.find_element(By.ID, "login-submit").click()
            time.sleep(2)
            if lang:
                d.get(f"{base}/lang/{lang}?next=/console")
            time.sleep(4)
            shot("console")
            for page, path in (("map", "/map"), ("map-building", "/map?building=labs"),
                               ("map-floor", "/map?building=labs&floor=2"),
                               ("map-place", "/map/place?building=labs&floor=2"),  # admins only
                               ("patrols", "/patrols"), ("patrols-report", "/reports/patrols"),
                               ("inspections", "/inspections"), ("hazards", "/hazards?hazard=1"), ("safety", "/safety"),
                               ("trends", "/trends"), ("sensors", "/sensors"), ("handover", "/console/handover"),
                               ("weekly", "/reports/weekly"), ("health", "/reports/health"),
                               ("notifications", "/admin/notifications")):  # admins only
                if only and page not in only:
                    continue
                d.get(f"{base}{path}")
                time.sleep(4)
                shot(page)
            if os.environ.get("SC_GUARD") and (not only or "guard" in only):
                guard(d, base, lang, suffix, *os.environ["SC_GUARD"].split(":", 1))
        finally:
            d.quit()


def guard(d: webdriver.Chrome, base: str, lang: str | None, suffix: str, user: str, password: str) -> None:
    """The guard's phone page, as tall as its content."""
    d.get(f"{base}/logout")
    d.get(f"{base}/login?next=/guard")
    d.find_element(By.ID, "username").send_keys(user)
    d.find_element(By.ID, "password").send_keys(password)
    d.find_element(By.ID, "login-submit").click()
    time.sleep(2)
    if lang:
        d.get(f"{base}/lang/{lang}?next=/guard")
    time.sleep(4)
    width, height = d.execute_script("return [window.innerWidth, window.innerHeight]")
    full = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(width, max(height, full) + 120)
    time.sleep(1)
    d.save_screenshot(str(HERE / f"guard-{suffix}.png"))
    d.set_window_size(width, height)


if __name__ == "__main__":
    main()
