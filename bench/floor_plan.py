"""A floor with 300 devices on /map: how fast it renders, and what a push sends.

Builds a one-building site whose ground floor holds 300 sensors in 24 rooms, draws its plan
and places every sensor with the demo campus's own generator (``sensors_sim.floorplans``),
loads it, starts the real ``safecampus dashboard`` and the ingest service with the alarm
engine, and opens the floor in headless Chromium (as a logged-in viewer):

- render: navigation start → the plan image decoded and all 300 markers drawn (in-page clock),
  over several loads (target < 1 s);
- push: fire alarms published for devices of that floor, one by one; publish → the marker shows
  the alarm in the open page; the bytes of each push's update against the floor's full render
  (the ratio is the point: a push sends only the devices that are not normal), and whether the
  plan image was fetched again (it must not be) or its element replaced.

Run: .venv/bin/python bench/floor_plan.py [--devices 300 --loads 5 --alarms 10]
(headless Chromium and chromedriver from Debian's chromium and chromium-driver packages).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import yaml
from common import fresh_database, percentile, private_broker, start_dashboard  # noqa: I001
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from ingest.accounts import add_user
from ingest.alarms.engine import AlarmEngine
from ingest.app.embedded import pick_port, wait_for_port
from ingest.core.settings import load_settings
from ingest.core.site import Site as SiteModel
from ingest.core.sitefile import load_site, load_yaml_model
from ingest.db.pool import open_pool
from ingest.db.registry import load_site as load_into_db
from ingest.mqtt.contract import format_ts
from ingest.service.maintainer import IngestService
from sensors_sim import floorplans

USER = ("bench-viewer", "bench-viewer-password")


def site_file(folder: Path, devices: int) -> Path:
    """A one-building site with ``devices`` sensors on its ground floor, its plan drawn and every sensor placed."""
    rooms, per = 24, -(-devices // 24)
    sensors = [{"kind": "smoke", "count": per - 2}, {"kind": "door", "count": 1},
               {"kind": "lab", "count": 1, "metrics": ["temperature_c"]}]
    site = {"name": "bench", "timezone": "Asia/Shanghai", "departments": [{"id": "d", "name": "D"}],
            "buildings": [{"id": "tower", "name": "Tower", "use": "lab", "department": "d", "floors": 1,
                           "outline": [[0, 0], [160, 0], [160, 40], [0, 40]],
                           "rooms": [{"id": f"tower-{100 + i}", "name": f"Room {100 + i}", "use": "lab", "floor": 0,
                                      "sensors": sensors} for i in range(rooms)]}]}
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(site), encoding="utf-8")
    layout = floorplans.write(load_yaml_model(path, SiteModel, "site file"), path)
    site["layout"] = layout.name
    path.write_text(yaml.safe_dump(site), encoding="utf-8")
    return path


def browser() -> webdriver.Chrome:
    """Headless Chromium at 1920×1080."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1920,1080"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


RENDERED = """
var img = document.querySelector('.sc-floor-img');
var n = document.querySelectorAll('.sc-floor-devices > *').length;
return [n, !!(img && img.complete && img.naturalWidth > 0), performance.now()];"""
UPDATES = """return performance.getEntriesByType('resource').filter(function (e) {
  return e.name.indexOf('_dash-update-component') >= 0; }).map(function (e) { return e.encodedBodySize; });"""
PLAN_FETCHES = """return performance.getEntriesByType('resource').filter(function (e) {
  return e.name.indexOf('/plans/') >= 0; }).length;"""


def main() -> None:
    """Run the measurement and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=300)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--alarms", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, private_broker() as mqtt_url, fresh_database() as db_url:
        site = load_site(site_file(Path(tmp), args.devices))
        with psycopg.connect(db_url) as conn:
            load_into_db(conn, site)
            add_user(conn, *USER, "viewer", "Bench Viewer")
        placed = [s.id for s in site.sensors if s.position]
        smoke = [s for s in placed if "-smoke-" in s]
        settings = load_settings(db_url=db_url, mqtt_url=mqtt_url, ingest_id="fp", ingest_share_group="fp",
                                 ingest_health_port=0)
        pool = open_pool(db_url, max_size=4, name="bench")
        engine = AlarmEngine()
        svc = IngestService(settings, pool, hooks=[engine.on_batch])
        svc.start()
        svc.link.wait_subscribed(10)
        port = pick_port(0)
        dash = start_dashboard(db_url, port)
        base = f"http://127.0.0.1:{port}"
        d = browser()
        try:
            wait_for_port(port, 30)
            d.get(f"{base}/login?next=/map")
            d.find_element(By.ID, "username").send_keys(USER[0])
            d.find_element(By.ID, "password").send_keys(USER[1])
            d.find_element(By.ID, "login-submit").click()
            time.sleep(1)
            renders: list[float] = []
            for _ in range(args.loads + 1):  # the first load warms the dashboard's process
                d.get(f"{base}/map?building=tower&floor=0")
                while True:
                    n, ready, at = d.execute_script(RENDERED)
                    if n >= len(placed) and ready:
                        renders.append(at)
                        break
                    time.sleep(0.005)
            renders = renders[1:]
            time.sleep(2)  # the event stream is open
            full = max(d.execute_script(UPDATES))
            d.execute_script("document.querySelector('.sc-floor-img').dataset.kept = 'yes'")
            fetches = d.execute_script(PLAN_FETCHES)
            seen, pushes = [], []
            for i, sensor in enumerate(smoke[: args.alarms]):
                before = len(d.execute_script(UPDATES))
                t0 = time.monotonic()
                now = format_ts(datetime.now(UTC))
                svc.link.publish(f"campus/v1/tower/smoke/{sensor}",
                                 f'{{"event_id": "b{i}", "ts": "{now}", "state": "alarm"}}')
                while "sc-dev-alarm" not in d.execute_script(
                        "var e = document.getElementById(arguments[0]); return e ? e.className : ''", f"dev-{sensor}"):
                    time.sleep(0.005)
                seen.append(time.monotonic() - t0)
                time.sleep(0.3)
                pushes += d.execute_script(UPDATES)[before:]
            kept = d.execute_script("return document.querySelector('.sc-floor-img').dataset.kept") == "yes"
            refetched = d.execute_script(PLAN_FETCHES) - fetches
        finally:
            d.quit()
            dash.terminate()
            dash.wait(10)
            svc.stop()
            pool.close()
    push = max(pushes) if pushes else 0
    print(f"floor                : {len(placed)} devices placed on one plan ({site.plans[0].file})")
    print(f"render (nav → drawn) : median {percentile(renders, 50):.0f} ms, max {max(renders):.0f} ms over "
          f"{len(renders)} loads (target < 1000 ms)")
    print(f"publish → marker     : p50 {percentile(seen, 50) * 1000:.0f} ms, max {max(seen) * 1000:.0f} ms over "
          f"{len(seen)} fire alarms on the open floor")
    print(f"push size            : largest {push:,} bytes against the full render's {full:,} bytes = "
          f"{push / full:.2f}× ({len(pushes)} updates; {args.alarms} devices in alarm at the end)")
    print(f"plan image           : fetched again {refetched} times during the pushes; element kept: {kept}")


if __name__ == "__main__":
    main()
