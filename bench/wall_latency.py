"""Wall-screen latency: N open wall screens, alarm triggers published, how fast do they know?

Starts ingest (with the alarm engine) in-process and a real dashboard process, opens N
server-sent-event streams with a kiosk session (what each wall page holds open), then
publishes door_forced triggers at one per second. Measures publish -> event received by
every client (p50/p95 over all clients) and publish -> wall data refreshed (one client
then runs the wall's refresh callback, as the browser does on the push), and the
dashboard's CPU (its processes and their children) while this goes on, once with the dashboard
as it runs (``safecampus dashboard``: gunicorn's threaded workers) and once under Werkzeug's
threaded development server (what ran before, as a peer in the same run). Targets: wall data
p95 <= 300 ms; CPU <= 10 % of a core.
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


# The server before this one (Werkzeug's threaded development server, one process), as a peer
# measured in the same run: bench only, not how the dashboard runs.
WERKZEUG = """
from werkzeug.serving import make_server
from dashboard.app import create_app
from ingest.core.settings import load_settings
from ingest.db.pool import open_pool
s = load_settings()
app = create_app(s, open_pool(s.require_db_url(), min_size=1, max_size=8, name="dashboard"))
app.server.extensions["safecampus_feed"].start()
make_server(s.dashboard_host, s.dashboard_port, app.server, threaded=True).serve_forever()
"""


def cpu_seconds(proc: psutil.Process) -> float:
    """User and system CPU of a process and its children (gunicorn's workers)."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(server: str, clients: int, triggers: int) -> dict:
    """One run against a fresh broker, database and ingest, with the dashboard under ``server``."""
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
        command = ["-c", WERKZEUG] if server == "werkzeug" else ["-m", "ingest.app.cli", "dashboard"]
        dash = subprocess.Popen([sys.executable, *command], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(port, 30)
        received: dict[str, list[float]] = {}
        shown: dict[str, list[float]] = {}
        stop = threading.Event()
        ready = threading.Barrier(clients + 1)
        threads = [threading.Thread(target=sse_client, args=(port, received, shown, ready, stop), daemon=True)
                   for _ in range(clients)]
        for c in threads:
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
        cpu0, t0 = cpu_seconds(proc), time.monotonic()
        sent: dict[str, float] = {}
        for i in range(triggers):
            sid = f"wl-{i}"
            sent[sid] = time.time()
            body = json.dumps({"event_id": "x", "ts": format_ts(datetime.now(UTC)), "event": "door_forced"})
            pub.publish(f"campus/v1/bench/door/{sid}", body, qos=1)
            time.sleep(1.0)
        time.sleep(2)
        cpu1, t1 = cpu_seconds(proc), time.monotonic()
        stop.set()
        pub.disconnect()
        pub.loop_stop()
        dash.terminate()
        dash.wait(10)
        ticker.stop()
        svc.stop()
        pool.close()
    return {"lat": [t - sent[s] for s, ts in received.items() for t in ts],
            "vis": [t - sent[s] for s, ts in shown.items() for t in ts],
            "complete": sum(1 for s in sent if len(received.get(s, [])) == clients),
            "cpu": (cpu1 - cpu0) / (t1 - t0) * 100}


def main() -> None:
    """Measure both servers in one run and print the figures side by side."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--triggers", type=int, default=30)
    args = ap.parse_args()
    runs = {name: measure(name, args.clients, args.triggers) for name in ("werkzeug", "gunicorn")}
    print(f"wall clients         : {args.clients}; triggers {args.triggers} at 1/s")
    for name, label in (("werkzeug", "before: Werkzeug's threaded server (peer)"),
                        ("gunicorn", "safecampus dashboard (gunicorn gthread)")):
        r = runs[name]
        lat, vis = r["lat"], r["vis"]
        print(f"{label}:")
        print(f"  reached every client : {r['complete']}/{args.triggers}")
        print(f"  publish -> on walls  : p50 {percentile(lat, 50) * 1000:.0f} ms, "
              f"p95 {percentile(lat, 95) * 1000:.0f} ms over {len(lat)} deliveries")
        print(f"  publish -> wall data : p50 {percentile(vis, 50) * 1000:.0f} ms, "
              f"p95 {percentile(vis, 95) * 1000:.0f} ms over {len(vis)} refreshes (target p95 <= 300 ms)")
        print(f"  dashboard CPU        : {r['cpu']:.1f} % of one core (target <= 10 % at one alarm a second)")
    w, g = runs["werkzeug"], runs["gunicorn"]
    print(f"gunicorn / Werkzeug    : CPU {g['cpu'] / w['cpu']:.2f}x, wall data p95 "
          f"{percentile(g['vis'], 95) / percentile(w['vis'], 95):.2f}x")


if __name__ == "__main__":
    main()
