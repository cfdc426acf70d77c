"""Notification latency: with background traffic flowing, how fast does a fire alarm reach a person?

Runs the real `safecampus ingest` (alarm engine, publisher, notifier on) against a private
broker and a fresh database, with a notification file whose one route sends every alarm to a
local webhook receiver. Publishes a steady background load (default 2,000 events/s) from
publisher processes and, meanwhile, a smoke detector going into alarm on its own sensor every
(seconds - 4) / triggers s (160 ms by default). Measures, per trigger:
  publish -> NOTIFY received by a listening connection (the alarm committed: the baseline), and
  publish -> the webhook request arrives at the receiver (what a person's phone gets),
and prints both with their ratio and ingest's CPU. Target: p99 under 2 s (GB 25506 asks a fire
alarm to reach the monitoring centre within 10 s). Run: .venv/bin/python bench/notify_latency.py
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import yaml
from common import RaisedListener, fresh_database, percentile, private_broker, send_triggers, start_publishers  # noqa: I001, E501

from ingest.app.embedded import pick_port
from tests.integration.receivers import HookReceiver

ROOT = Path(__file__).resolve().parent.parent


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    """Run the measurement and print p50/p99 for both paths."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--triggers", type=int, default=100)
    args = ap.parse_args()
    rx = HookReceiver().start()
    with private_broker() as mqtt_url, fresh_database() as db_url, tempfile.TemporaryDirectory() as tmp:
        notify_file = Path(tmp) / "notify.yaml"
        notify_file.write_text(yaml.safe_dump({
            "channels": {"hook": {"type": "webhook", "url": rx.url("/hook/bench"), "limit_per_min": 10_000}},
            "recipients": {"duty": {"channel": "hook"}},
            "routes": [{"name": "fire", "match": {"condition": ["fire"]}, "steps": [{"notify": ["duty"]}]}]}))
        health = pick_port(0)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")} | {
            "SAFECAMPUS_DB_URL": db_url, "SAFECAMPUS_MQTT_URL": mqtt_url, "SAFECAMPUS_NOTIFY_FILE": str(notify_file),
            "SAFECAMPUS_INGEST_ID": f"nl{secrets.token_hex(3)}", "SAFECAMPUS_INGEST_HEALTH_PORT": str(health),
            "SAFECAMPUS_LOG_LEVEL": "WARNING"}
        ingest = subprocess.Popen([sys.executable, "-m", "ingest.app.cli", "ingest"], env=env, cwd=ROOT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/healthz", timeout=1) as r:
                    if json.loads(r.read()).get("subscribed"):
                        break
            except OSError:
                time.sleep(0.2)
        listener = RaisedListener(db_url).start()
        procs, _done, start_at, _total = start_publishers(mqtt_url, int(args.rate * args.seconds), 2, rate=args.rate)
        cpu0, wall0 = _cpu_s(ingest.pid), time.time()
        sent = send_triggers(mqtt_url, start_at, args.triggers, args.seconds, "smoke", {"state": "alarm"})
        for p in procs:
            p.join()
        time.sleep(3)
        cpu = (_cpu_s(ingest.pid) - cpu0) / (time.time() - wall0)
        listener.stop()
        notified = dict(listener.raised)
        ingest.terminate()
        ingest.wait(30)
        with psycopg.connect(db_url) as conn:
            sensor_of = dict(conn.execute("SELECT id, sensor_id FROM alarms WHERE sensor_id LIKE 'trig-%%'"
                                          ).fetchall())
    rx.stop()
    for r in rx.on("/hook/bench"):
        sid = sensor_of.get(r["body"]["facts"]["alarm_id"])
        if sid:
            notified.setdefault(f"rx:{sid}", r["at"])
    to_commit = [notified[s] - sent[s] for s in sent if s in notified]
    to_person = [notified[f"rx:{s}"] - sent[s] for s in sent if f"rx:{s}" in notified]
    p99c, p99p = percentile(to_commit, 99), percentile(to_person, 99)
    print(f"background load          : {args.rate:.0f} events/s for {args.seconds:.0f} s; {len(sent)} fire alarms")
    print(f"publish -> alarm NOTIFY  : p50 {percentile(to_commit, 50) * 1000:.0f} ms, p99 {p99c * 1000:.0f} ms "
          f"({len(to_commit)}/{len(sent)}) (baseline, same run)")
    print(f"publish -> webhook       : p50 {percentile(to_person, 50) * 1000:.0f} ms, p99 {p99p * 1000:.0f} ms "
          f"({len(to_person)}/{len(sent)}) (target p99 < 2000 ms)")
    print(f"ratio webhook/NOTIFY p99 : {p99p / p99c:.1f}x; ingest CPU {cpu * 100:.0f} % of a core")


if __name__ == "__main__":
    main()
