"""Endurance: the whole system at a steady event rate for a bounded time, on loopback only.

Starts a private Mosquitto, a fresh database with the demo campus, `safecampus ingest`
and `safecampus dashboard` (2 workers) as processes; N wall screens (each holds the event
stream and runs the wall's refresh callback on every push, as the page does); M officers
logged in who acknowledge new alarms through the console's callback; publishers at RATE
events/s, and a door-forced alarm every few seconds. Every 10 s it samples each process's
memory (RSS, and USS: memory the process alone holds) and ingest's queue depth.

Prints, for each process, memory after the warm-up and at the end (and their ratio: the
baseline is the same process one minute in), the queue's peak against its bound, errors in
the logs, published against stored, alarms raised and acknowledged, pushes per screen.

Run: .venv/bin/python bench/soak.py [--minutes 30 --rate 1000 --screens 20 --officers 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path

import psutil
import psycopg
from common import fresh_database  # noqa: I001
from wall_latency import open_wall

from ingest.accounts import add_user
from ingest.app.embedded import EmbeddedBroker, pick_port, wait_for_port
from ingest.core.sitefile import load_site as read_site
from ingest.db.registry import load_site
from ingest.mqtt.contract import format_ts
from sensors_sim import load

ROOT = Path(__file__).resolve().parent.parent
KIOSK = "soak-kiosk"
QUEUE_BOUND = 20_000
OFFICERS = [(f"officer{i}", f"soak-password-{i}") for i in range(10)]


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    return env | {f"SAFECAMPUS_{k.upper()}": v for k, v in values.items()}


def screen(port: int, stats: dict, stop: threading.Event) -> None:
    """One wall screen: kiosk session, event stream, a refresh on each push."""
    cookie, body, page, resp = open_wall(port, KIOSK)
    while not stop.is_set():
        line = resp.fp.readline()
        if not line:
            if not stop.is_set():  # the stream ended while the system was meant to be up
                stats["disconnects"] += 1
            return
        if line.startswith(b"data: "):
            stats["pushes"] += 1
            page.request(
                "POST",
                "/_dash-update-component",
                body=body,
                headers={"Content-Type": "application/json", "Cookie": cookie},
            )
            r = page.getresponse()
            r.read()
            stats["refresh_ok" if r.status == 200 else "refresh_failed"] += 1


def _ack_body(base: str, opener: urllib.request.OpenerDirector, alarm_id: int) -> bytes:
    deps = json.loads(opener.open(f"{base}/_dash-dependencies").read())
    cb = next(d for d in deps if "console-msg.children" in d["output"])
    inputs = [
        {"id": i["id"], "property": i["property"], "value": 1 if i["id"] == "console-ack" else None}
        for i in cb["inputs"]
    ]
    state = [
        {"id": s["id"], "property": s["property"], "value": alarm_id if s["id"] == "console-selected" else None}
        for s in cb["state"]
    ]
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in cb["output"].strip(".").split("...")]
    return json.dumps(
        {
            "output": cb["output"],
            "outputs": outputs,
            "inputs": inputs,
            "state": state,
            "changedPropIds": ["console-ack.n_clicks"],
        }
    ).encode()


def officer(base: str, db_url: str, user: tuple[str, str], stats: dict, stop: threading.Event) -> None:
    """Log in, then every few seconds acknowledge the oldest unacknowledged alarm."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    body = urllib.parse.urlencode({"username": user[0], "password": user[1]}).encode()
    opener.open(urllib.request.Request(f"{base}/login", data=body, headers={"Origin": base})).read()
    while not stop.wait(random.uniform(2, 5)):  # noqa: S311 - pacing, not security
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "SELECT id FROM alarms WHERE state = 'active_unacked' ORDER BY random() LIMIT 1"
            ).fetchone()
        if not row:
            continue
        req = urllib.request.Request(
            f"{base}/_dash-update-component",
            data=_ack_body(base, opener, row[0]),
            headers={"Content-Type": "application/json", "Origin": base},
        )
        answer = opener.open(req).read().decode()
        stats["acks" if "Acknowledged." in answer else "ack_refused"] += 1


def alarm_source(
    mqtt_url: str, doors: list[tuple[str, str]], every_s: float, stats: dict, stop: threading.Event
) -> None:
    """A forced door somewhere on campus every few seconds."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    port = int(mqtt_url.rsplit(":", 1)[1])
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id="soak-alarms", protocol=mqtt.MQTTv5
    )
    client.connect("127.0.0.1", port)
    client.loop_start()
    while not stop.wait(every_s):
        building, door = random.choice(doors)  # noqa: S311
        body = json.dumps(
            {"event_id": secrets.token_hex(6), "ts": format_ts(datetime.now(UTC)), "event": "door_forced"}
        )
        client.publish(f"campus/v1/{building}/door/{door}", body, qos=1).wait_for_publish(30)
        stats["door_events"] += 1
    client.disconnect()
    client.loop_stop()


def memory(proc: psutil.Process) -> tuple[int, int]:
    """(RSS, USS) of a process and its children, in bytes. RSS counts shared pages in every
    process; USS only what the process alone holds (what a leak grows)."""
    rss = uss = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        rss, uss = rss + info.rss, uss + info.uss
    return rss, uss


INGEST_GAUGES = {
    "queue": "safecampus_ingest_queue_depth",
    "python blocks": "safecampus_ingest_python_blocks",
    "heap in use": "safecampus_ingest_heap_in_use_bytes",
    "heap free": "safecampus_ingest_heap_free_bytes",
}


def ingest_gauges(health_port: int) -> dict[str, float]:
    """Queue depth and memory gauges from ingest's /metrics (NaN when unavailable)."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{health_port}/metrics", timeout=5).read().decode()
    except OSError:
        text = ""
    out = {}
    for key, metric in INGEST_GAUGES.items():
        m = re.search(rf"^{metric} (\S+)$", text, re.M)
        out[key] = float(m.group(1)) if m else float("nan")
    return out


def _gauges_text(g: dict[str, float]) -> str:
    return (
        f"queue {g['queue']:.0f}; ingest heap in use {g['heap in use'] / 2**20:.1f} MB, "
        f"heap free {g['heap free'] / 2**20:.1f} MB, python blocks {g['python blocks'] / 1000:.0f}k"
    )


def main() -> None:  # noqa: PLR0915 - one linear script
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--screens", type=int, default=20)
    ap.add_argument("--officers", type=int, default=3)
    ap.add_argument("--publishers", type=int, default=2)
    ap.add_argument("--alarm-every", type=float, default=3.0)
    args = ap.parse_args()
    seconds = args.minutes * 60
    warmup = min(60.0, seconds / 5)

    with tempfile.TemporaryDirectory() as tmp, fresh_database() as db_url:
        tmpdir = Path(tmp)
        broker = EmbeddedBroker(tmpdir, preferred_port=0)
        mqtt_url = broker.start()
        site = read_site()
        with psycopg.connect(db_url) as conn:
            load_site(conn, site)
            for name, password in OFFICERS[: args.officers]:
                add_user(conn, name, password, "officer", name)
            doors = conn.execute("SELECT building_id, id FROM sensors WHERE kind = 'door'").fetchall()
        health_port, dash_port = pick_port(0), pick_port(0)
        logs = {"ingest": tmpdir / "ingest.log", "dashboard": tmpdir / "dashboard.log"}
        procs = {
            "ingest": subprocess.Popen(
                [sys.executable, "-m", "ingest.app.cli", "ingest"],
                cwd=ROOT,
                env=_env(db_url=db_url, mqtt_url=mqtt_url, ingest_id="soak", ingest_health_port=str(health_port)),
                stdout=logs["ingest"].open("wb"),
                stderr=subprocess.STDOUT,
            ),
            "dashboard": subprocess.Popen(
                [sys.executable, "-m", "ingest.app.cli", "dashboard"],
                cwd=ROOT,
                env=_env(
                    db_url=db_url,
                    dashboard_port=str(dash_port),
                    dashboard_workers="2",
                    kiosk_token=KIOSK,
                    secret_key=secrets.token_urlsafe(16),
                ),
                stdout=logs["dashboard"].open("wb"),
                stderr=subprocess.STDOUT,
            ),
        }
        watched = {name: psutil.Process(p.pid) for name, p in procs.items()}
        watched["mosquitto"] = psutil.Process(broker._proc.pid)  # noqa: SLF001 - our own child
        base = f"http://127.0.0.1:{dash_port}"
        try:
            if not (wait_for_port(dash_port, 60) and wait_for_port(health_port, 60)):
                raise SystemExit("ingest or dashboard did not start; see their logs")
            stop = threading.Event()
            stats = {
                k: 0
                for k in ("pushes", "refresh_ok", "refresh_failed", "disconnects", "acks", "ack_refused", "door_events")
            }
            screen_stats = [
                dict.fromkeys(("pushes", "refresh_ok", "refresh_failed", "disconnects"), 0) for _ in range(args.screens)
            ]
            threads = [threading.Thread(target=screen, args=(dash_port, s, stop), daemon=True) for s in screen_stats]
            threads += [
                threading.Thread(target=officer, args=(base, db_url, u, stats, stop), daemon=True)
                for u in OFFICERS[: args.officers]
            ]
            threads.append(
                threading.Thread(
                    target=alarm_source, args=(mqtt_url, doors, args.alarm_every, stats, stop), daemon=True
                )
            )
            for t in threads:
                t.start()
            plans = [
                load.LoadPlan(
                    mqtt_url, i, args.rate / args.publishers, seconds=seconds, start_at=time.time() + 1, building="soak"
                )
                for i in range(args.publishers)
            ]
            pubs, out = load.start(plans)
            t0 = time.monotonic()
            samples: list[tuple[float, dict[str, tuple[int, int]], dict[str, float]]] = []
            print(
                f"soak: {args.minutes:g} min at {args.rate:g} events/s, {args.screens} wall screens, "  # noqa: T201
                f"{args.officers} officers, a forced door every {args.alarm_every:g} s"
            )
            while any(p.is_alive() for p in pubs):
                samples.append(
                    (time.monotonic() - t0, {n: memory(p) for n, p in watched.items()}, ingest_gauges(health_port))
                )
                elapsed = samples[-1][0]
                if int(elapsed) % 300 < 10:
                    mem = ", ".join(f"{n} {m[0] / 2**20:.0f}/{m[1] / 2**20:.0f} MB" for n, m in samples[-1][1].items())
                    print(f"  {elapsed / 60:5.1f} min: RSS/USS {mem}; {_gauges_text(samples[-1][2])}", flush=True)  # noqa: T201
                time.sleep(10)
            results = [out.get(timeout=5) for p in pubs if p.exitcode == 0]
            if len(results) < len(pubs):
                raise SystemExit("a publisher process failed; see its traceback above")
            published = sum(r[0] for r in results)
            deadline = time.monotonic() + 120
            stored = 0
            while time.monotonic() < deadline:
                with psycopg.connect(db_url) as conn:
                    stored = conn.execute("SELECT count(*) FROM events WHERE building_id = 'soak'").fetchone()[0]
                if stored >= published:
                    break
                time.sleep(1)
            samples.append(
                (time.monotonic() - t0, {n: memory(p) for n, p in watched.items()}, ingest_gauges(health_port))
            )
            stop.set()
            with psycopg.connect(db_url) as conn:
                raised, acked = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE acked_at IS NOT NULL) FROM alarms"
                ).fetchone()
                dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        finally:
            for p in procs.values():
                p.terminate()
                p.wait(30)
            broker.stop()
        errors = {
            n: sum(
                1
                for line in path.read_text(errors="replace").splitlines()
                if " ERROR " in line or line.startswith("Traceback")
            )
            for n, path in logs.items()
        }

    base_sample = next((s for s in samples if s[0] >= warmup), samples[0])
    half = next(s for s in samples if s[0] >= samples[-1][0] / 2)
    print(
        f"\nmemory with children: after {base_sample[0]:.0f} s -> half-way ({half[0]:.0f} s) -> end "  # noqa: T201
        f"({samples[-1][0]:.0f} s); a plateau shows as no growth in the second half"
    )
    for name in watched:
        for i, kind in enumerate(("RSS", "USS")):
            a, h, b = base_sample[1][name][i], half[1][name][i], samples[-1][1][name][i]
            print(
                f"  {name:10s} {kind} {a / 2**20:7.1f} MB -> {h / 2**20:7.1f} MB -> {b / 2**20:7.1f} MB  "  # noqa: T201
                f"ratio {b / a if a else float('nan'):.2f}"
            )
    for key in ("heap in use", "heap free", "python blocks"):
        unit, scale = ("k", 1000) if key == "python blocks" else ("MB", 2**20)
        a, h, b = (x[2][key] / scale for x in (base_sample, half, samples[-1]))
        print(f"  ingest {key:13s} {a:7.1f} {unit} -> {h:7.1f} {unit} -> {b:7.1f} {unit}")  # noqa: T201
    peak = max((s[2]["queue"] for s in samples if s[2]["queue"] == s[2]["queue"]), default=float("nan"))
    print(f"ingest queue: peak {peak:.0f} of {QUEUE_BOUND} (bounded)")  # noqa: T201
    print(f"errors in logs: {errors}")  # noqa: T201
    print(
        f"events: published {published}, stored {stored} ({'all stored' if stored == published else 'MISSING'}); "  # noqa: T201
        f"dead letters {dead}; achieved {published / seconds:.0f} events/s"
    )
    pushes = [s["pushes"] for s in screen_stats]
    print(
        f"alarms: {stats['door_events']} forced doors published, {raised} alarms raised, {acked} acknowledged "  # noqa: T201
        f"({stats['acks']} by the officers' console, {stats['ack_refused']} refused as already taken)"
    )
    print(
        f"wall screens: pushes per screen min {min(pushes)} max {max(pushes)}; refreshes ok "  # noqa: T201
        f"{sum(s['refresh_ok'] for s in screen_stats)}, failed {sum(s['refresh_failed'] for s in screen_stats)}; "
        f"disconnects {sum(s['disconnects'] for s in screen_stats)}"
    )


if __name__ == "__main__":
    main()
