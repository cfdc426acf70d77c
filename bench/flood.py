"""The flood: every door of the demo campus forced and every smoke detector in pre-alarm within
ten seconds (110 + 402 = 512 alarms), through the real ``safecampus ingest`` and dashboard.

Measures, against a private broker and a fresh database:
- commit lag: the last publish → the last alarm in the journal (the server's clock);
- retained lag: the last publish → the last alarm's retained state received on ``campus/v1/_alarms/#``;
- the wall's refresh callback (a kiosk), and the console's queue, its groups and a group
  acknowledgement (an officer) as the browser calls them: each the best of three, with the
  size of the answer; the group acknowledgement of the biggest building against acknowledging
  its alarms one by one through the same console (the baseline the flood used to force);
- with ``--shots DIR``: screenshots of the wall and the console in the flood (headless Chromium).

Run: .venv/bin/python bench/flood.py [--shots docs/screenshots]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from common import fresh_database, private_broker, start_dashboard, start_ingest  # noqa: I001
from paho.mqtt.enums import CallbackAPIVersion

from ingest.accounts import add_user
from ingest.app.embedded import pick_port, wait_for_port
from ingest.core.settings import MqttEndpoint
from ingest.core.sitefile import load_site
from ingest.db.registry import load_site as load_into_db
from ingest.mqtt.contract import format_ts

ROOT = Path(__file__).resolve().parent.parent
KIOSK = "bench-kiosk-token"
OFFICER = ("bench-officer", "bench-officer-password")


def client(mqtt_url: str, name: str) -> mqtt.Client:
    """A connected paho client, its loop running."""
    ep = MqttEndpoint.from_url(mqtt_url)
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    c.connect(ep.host, ep.port)
    c.loop_start()
    return c


class Dash:
    """A browser's view of the dashboard: a session, and Dash callbacks called as the page calls them."""

    def __init__(self, base: str, user: tuple[str, str] | None) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        if user:
            body = urllib.parse.urlencode({"username": user[0], "password": user[1], "next": "/console"}).encode()
            self.opener.open(urllib.request.Request(f"{base}/login", data=body, headers={"Origin": base})).read()
        else:
            self.opener.open(f"{base}/wall?kiosk={KIOSK}").read()
        self.deps = json.loads(self.opener.open(f"{base}/_dash-dependencies").read())

    def call(self, output: str, values: dict[str, object], trigger: str) -> tuple[float, dict]:
        """Call the callback whose outputs include ``output``; (seconds, response)."""
        cb = next(d for d in self.deps if output in d["output"])
        outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]}
                   for o in cb["output"].strip(".").split("...")]

        def item(i: dict) -> dict:
            key = f"{i['id']}.{i['property']}"
            return {"id": i["id"], "property": i["property"], "value": values.get(key)}
        body = json.dumps({"output": cb["output"], "outputs": outputs if cb["output"].startswith("..") else outputs[0],
                           "inputs": [item(i) for i in cb["inputs"]], "state": [item(s) for s in cb["state"]],
                           "changedPropIds": [trigger]}).encode()
        t0 = time.perf_counter()
        req = urllib.request.Request(f"{self.base}/_dash-update-component", data=body,
                                     headers={"Content-Type": "application/json", "Origin": self.base})
        with self.opener.open(req, timeout=120) as resp:
            answer = json.loads(resp.read())
        return time.perf_counter() - t0, answer

    def best(self, output: str, values: dict[str, object], trigger: str) -> tuple[float, int]:
        """The best of three calls (seconds), and the answer's size in bytes."""
        runs = [self.call(output, values, trigger) for _ in range(3)]
        return min(t for t, _a in runs), len(json.dumps(runs[-1][1]))


def screenshots(base: str, folder: Path) -> None:
    """The wall and the console in the flood, at 1920×1080."""
    sys.path.insert(0, str(ROOT / "docs" / "screenshots"))
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from take import driver  # noqa: PLC0415 - only with --shots

    d = driver(1920, 1080)
    try:
        d.get(f"{base}/wall?kiosk={KIOSK}&lang=en")
        time.sleep(4)
        d.save_screenshot(str(folder / "flood-wall-1080p.png"))
        d.get(f"{base}/login")
        d.find_element(By.ID, "username").send_keys(OFFICER[0])
        d.find_element(By.ID, "password").send_keys(OFFICER[1])
        d.find_element(By.ID, "login-submit").click()
        time.sleep(4)
        d.find_element(By.ID, "f-group").click()
        time.sleep(0.5)
        next(o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]") if "building" in o.text).click()
        time.sleep(3)
        d.save_screenshot(str(folder / "flood-console-1080p.png"))
    finally:
        d.quit()


def main() -> None:
    """Flood, measure, print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0, help="the flood's length")
    ap.add_argument("--shots", help="a folder for screenshots of the wall and the console in the flood")
    args = ap.parse_args()
    site = load_site()
    targets = [s for s in site.sensors if s.kind in ("door", "smoke")]
    with private_broker() as mqtt_url, fresh_database() as db_url:
        with psycopg.connect(db_url) as conn:
            load_into_db(conn, site)
            add_user(conn, *OFFICER, "officer", "Bench Officer")
        ingest = start_ingest(mqtt_url, db_url, "flood", "flood")
        port = pick_port(0)
        dash = start_dashboard(db_url, port, SAFECAMPUS_KIOSK_TOKEN=KIOSK)
        retained: dict[str, float] = {}
        lock = threading.Lock()

        def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
            with lock:
                retained.setdefault(msg.topic, time.time())

        watcher = client(mqtt_url, "flood-watch")
        watcher.on_message = on_message
        watcher.subscribe("campus/v1/_alarms/#", qos=1)
        pub = client(mqtt_url, "flood-pub")
        try:
            wait_for_port(port, 30)
            time.sleep(4)  # ingest connected and subscribed
            gap = args.seconds / len(targets)
            for i, s in enumerate(targets):
                body = {"event_id": f"flood-{i}", "ts": format_ts(datetime.now(UTC))}
                body |= {"event": "door_forced"} if s.kind == "door" else {"state": "pre_alarm"}
                pub.publish(f"campus/v1/{s.building}/{s.kind}/{s.id}", json.dumps(body), qos=1)
                last_publish = time.time()
                time.sleep(gap)
            with psycopg.connect(db_url, autocommit=True) as conn:
                deadline = time.time() + 60
                count = "SELECT count(*) FROM alarms"
                while conn.execute(count).fetchone()[0] < len(targets) and time.time() < deadline:
                    time.sleep(0.02)
                alarms, committed = conn.execute("SELECT count(*), (SELECT extract(epoch FROM max(at)) FROM "
                                                 "alarm_journal WHERE action = 'raised') FROM alarms").fetchone()
            while len(retained) < alarms and time.time() < deadline:
                time.sleep(0.02)
            wall, officer = Dash(f"http://127.0.0.1:{port}", None), Dash(f"http://127.0.0.1:{port}", OFFICER)
            wall_first, _a = wall.call("wall-counts.children", {}, "live-signal.data")  # read and rendered
            wall_t, wall_b = wall.best("wall-counts.children", {}, "live-signal.data")  # every other screen
            queue_t, queue_b = officer.best("console-queue.data", {}, "live-signal.data")
            group_t, group_b = officer.best("console-queue.data", {"f-group.value": "building"}, "f-group.value")
            _t, answer = officer.call("console-queue.data", {"f-group.value": "building"}, "f-group.value")
            groups = answer["response"]["console-groups"]["data"]
            biggest = max(groups, key=lambda g: g["unacked"])
            ack_t, ack = officer.call("console-msg.children", {
                "console-group.data": {"by": "building", "key": biggest["key"], "label": biggest["label"]},
                "console-groups.data": groups, "console-group-ack.n_clicks": 1,
            }, "console-group-ack.n_clicks")
            told = next(iter(ack["response"].values()))["children"]
            # The baseline: the same officer acknowledging the next building's alarms one at a time.
            second = sorted(groups, key=lambda g: -g["unacked"])[1]
            with psycopg.connect(db_url) as conn:
                ids = [r[0] for r in conn.execute("SELECT id FROM alarms WHERE building_id = %s AND state = "
                                                  "'active_unacked' ORDER BY id", (second["key"],))]
            t0 = time.perf_counter()
            for alarm_id in ids:
                officer.call("console-msg.children", {"console-selected.data": alarm_id, "console-ack.n_clicks": 1},
                             "console-ack.n_clicks")
            one_by_one = time.perf_counter() - t0
            if args.shots:
                screenshots(f"http://127.0.0.1:{port}", Path(args.shots))
        finally:
            pub.loop_stop()
            watcher.loop_stop()
            dash.terminate()
            dash.wait(10)
            ingest.terminate()
            ingest.wait(20)
    last_retained = max(retained.values()) if retained else float("nan")
    print(f"flood                : {len(targets)} alarms published in {args.seconds:g} s "
          f"({sum(s.kind == 'door' for s in targets)} doors forced, {sum(s.kind == 'smoke' for s in targets)} "
          f"smoke pre-alarms); {alarms} alarms stored, {len(retained)} retained states received")
    print(f"commit lag           : {(float(committed) - last_publish) * 1000:.0f} ms after the last publish")
    print(f"retained lag         : {(last_retained - last_publish) * 1000:.0f} ms after the last publish")
    print(f"wall refresh         : {wall_first * 1000:.0f} ms for the first screen (read and rendered), "
          f"{wall_t * 1000:.0f} ms for the others (the shared read) ({wall_b:,} bytes)")
    print(f"console queue page   : {queue_t * 1000:.0f} ms ({queue_b:,} bytes); grouped by building "
          f"{group_t * 1000:.0f} ms ({group_b:,} bytes, {len(groups)} groups)")
    print(f"group acknowledgement: {ack_t * 1000:.0f} ms for {biggest['unacked']} alarms ({told!r})")
    print(f"one by one (baseline): {one_by_one * 1000:.0f} ms for {len(ids)} alarms = "
          f"{one_by_one / len(ids) * biggest['unacked'] / ack_t:.1f}x the group's time for as many "
          "(not counting an officer's clicks)")


if __name__ == "__main__":
    main()
