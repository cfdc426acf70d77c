"""Wall-screen latency: N open wall screens, alarm triggers published, how fast do they know?

Starts ingest (with the alarm engine) in-process and a real dashboard process, opens N
server-sent-event streams with a kiosk session (what each wall page holds open), then
publishes door_forced triggers at one per second. Measures publish -> event received by
every client (p50/p95 over all clients) and publish -> wall data refreshed (one client
then runs the wall's refresh callback, as the browser does on the push), and the
dashboard process's CPU while this goes on. Targets: p95 < 1 s; CPU < 25 % of a core.
Run: .venv/bin/python bench/wall_latency.py [--clients 50 --triggers 30]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from common import fresh_database, percentile, private_broker  # noqa: I001

from ingest.alarms.engine import AlarmEngine, Ticker
from ingest.app.embedded import pick_port, wait_for_port
from ingest.core.settings import MqttEndpoint, load_settings
from ingest.db.pool import open_pool
from ingest.mqtt.contract import format_ts
from ingest.service.maintainer import IngestService

ROOT = Path(__file__).resolve().parent.parent
KIOSK = "bench-kiosk"


def refresh_request(port: int, cookie: str) -> bytes:
    """The body of the wall's refresh callback, as the browser sends it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/_dash-dependencies", headers={"Cookie": cookie})
    deps = json.loads(conn.getresponse().read())
    cb = next(d for d in deps if "wall-counts.children" in d["output"])
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in cb["output"].strip(".").split("...")]
    inputs = [{"id": i["id"], "property": i["property"], "value": None} for i in cb["inputs"]]
    return json.dumps({"output": cb["output"], "outputs": outputs, "inputs": inputs, "state": [],
                       "changedPropIds": ["live-signal.data"]}).encode()


def open_wall(port: int, kiosk: str) -> tuple[str, bytes, http.client.HTTPConnection, http.client.HTTPResponse]:
    """What a wall page opens: a kiosk session, the refresh callback's body, a connection for the
    refreshes, and the event stream."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", f"/wall?kiosk={kiosk}")
    resp = conn.getresponse()
    cookie = resp.getheader("Set-Cookie", "").split(";")[0]
    resp.read()
    body = refresh_request(port, cookie)
    page = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/events/alarms", headers={"Cookie": cookie})
    return cookie, body, page, conn.getresponse()


def sse_client(port: int, received: dict[str, list[float]], shown: dict[str, list[float]],
               ready: threading.Barrier, stop: threading.Event) -> None:
    """Hold one event stream open like a wall page; on each alarm, refresh like the page does."""
    cookie, body, page, resp = open_wall(port, KIOSK)
    ready.wait()
    buf = b""
    while not stop.is_set():
        chunk = resp.fp.readline()
        if not chunk:
            break
        buf = chunk.strip()
        if buf.startswith(b"data: "):
            msg = json.loads(buf[6:])
            if (msg.get("action") == "raised" and msg.get("condition") == "door_forced"
                    and str(msg.get("sensor_id", "")).startswith("wl-")):
                received.setdefault(msg["sensor_id"], []).append(time.time())
                page.request("POST", "/_dash-update-component", body=body,
                             headers={"Content-Type": "application/json", "Cookie": cookie})
                answer = page.getresponse().read()
                if msg["sensor_id"].encode() in answer or b"Door forced open" in answer:
                    shown.setdefault(msg["sensor_id"], []).append(time.time())


def main() -> None:
    """Run the measurement and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--triggers", type=int, default=30)
    args = ap.parse_args()
    with private_broker() as mqtt_url, fresh_database() as db_url:
        settings = load_settings(db_url=db_url, mqtt_url=mqtt_url, ingest_id="wl", ingest_share_group="wl",
                                 ingest_health_port=0)
        pool = open_pool(db_url, max_size=4, name="bench")
        engine = AlarmEngine()
        svc = IngestService(settings, pool, hooks=[engine.on_batch])
        ticker = Ticker(engine, pool)
        svc.start()
        ticker.start()
        svc.link.wait_subscribed(10)
        port = pick_port(0)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
        env |= {"SAFECAMPUS_DB_URL": db_url, "SAFECAMPUS_DASHBOARD_PORT": str(port),
                "SAFECAMPUS_KIOSK_TOKEN": KIOSK, "SAFECAMPUS_SECRET_KEY": secrets.token_hex(16)}
        dash = subprocess.Popen([sys.executable, "-m", "ingest.app.cli", "dashboard"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(port, 30)
        received: dict[str, list[float]] = {}
        shown: dict[str, list[float]] = {}
        stop = threading.Event()
        ready = threading.Barrier(args.clients + 1)
        clients = [threading.Thread(target=sse_client, args=(port, received, shown, ready, stop), daemon=True)
                   for _ in range(args.clients)]
        for c in clients:
            c.start()
        ready.wait()
        time.sleep(1)
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        ep = MqttEndpoint.from_url(mqtt_url)
        pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect(ep.host, ep.port)
        pub.loop_start()
        proc = psutil.Process(dash.pid)
        cpu0, t0 = proc.cpu_times(), time.monotonic()
        sent: dict[str, float] = {}
        for i in range(args.triggers):
            sid = f"wl-{i}"
            sent[sid] = time.time()
            body = json.dumps({"event_id": "x", "ts": format_ts(datetime.now(UTC)), "event": "door_forced"})
            pub.publish(f"campus/v1/bench/door/{sid}", body, qos=1)
            time.sleep(1.0)
        time.sleep(2)
        cpu1, t1 = proc.cpu_times(), time.monotonic()
        stop.set()
        pub.disconnect()
        pub.loop_stop()
        dash.terminate()
        dash.wait(10)
        ticker.stop()
        svc.stop()
        pool.close()
    lat = [t - sent[s] for s, ts in received.items() for t in ts]
    vis = [t - sent[s] for s, ts in shown.items() for t in ts]
    if os.environ.get("WL_DEBUG"):
        for s in sorted(received, key=lambda k: int(k[3:])):
            d = [round(t - sent[s], 2) for t in received[s]]
            print(s, len(d), min(d), max(d))
    complete = sum(1 for s in sent if len(received.get(s, [])) == args.clients)
    cpu = ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / (t1 - t0) * 100
    print(f"wall clients         : {args.clients}; triggers {args.triggers} at 1/s; "
          f"{complete}/{args.triggers} reached every client")
    print(f"publish -> on walls  : p50 {percentile(lat, 50) * 1000:.0f} ms, p95 {percentile(lat, 95) * 1000:.0f} ms, "
          f"max {max(lat) * 1000:.0f} ms over {len(lat)} deliveries (target p95 < 1000 ms)")
    print(f"publish -> wall data : p50 {percentile(vis, 50) * 1000:.0f} ms, p95 {percentile(vis, 95) * 1000:.0f} ms "
          f"over {len(vis)} refreshes (push, then the wall's own refresh callback, as the browser does)")
    print(f"dashboard CPU        : {cpu:.1f} % of one core (target < 25 % at one alarm a second)")


if __name__ == "__main__":
    main()
