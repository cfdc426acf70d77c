"""Alarm latency: with background traffic flowing, how fast does a trigger become an alarm?

Publishes a steady background load (default 2,000 events/s) from publisher processes and,
meanwhile, door_forced triggers on their own sensors every 100 ms. Measures
publish -> alarm committed (the batch transaction that raised it) and
publish -> NOTIFY received by a listening connection (what dashboards get).
Target: p99 under 300 ms. Run: .venv/bin/python bench/alarm_latency.py
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
import time
from datetime import UTC, datetime

import psycopg
from common import fresh_database, percentile, private_broker, start_publishers  # noqa: I001

from ingest.alarms.engine import AlarmEngine
from ingest.core.settings import MqttEndpoint, load_settings
from ingest.db.pool import open_pool
from ingest.mqtt.contract import format_ts
from ingest.service.maintainer import IngestService


def main() -> None:
    """Run the measurement and print p50/p99 for both paths."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--triggers", type=int, default=100)
    args = ap.parse_args()
    with private_broker() as mqtt_url, fresh_database() as db_url:
        settings = load_settings(
            db_url=db_url,
            mqtt_url=mqtt_url,
            ingest_id=f"lat{secrets.token_hex(3)}",
            ingest_share_group="lat",
            ingest_health_port=0,
        )
        sent: dict[str, float] = {}
        committed: dict[str, float] = {}
        notified: dict[str, float] = {}

        def on_commit(result):
            now = time.time()
            for e in result.inserted:
                if e.sensor_id.startswith("trig-"):
                    committed[e.sensor_id] = now

        pool = open_pool(db_url, max_size=4, name="bench")
        engine = AlarmEngine()
        svc = IngestService(settings, pool, hooks=[engine.on_batch], on_commit=on_commit)
        svc.start()
        svc.link.wait_subscribed(10)
        stop = threading.Event()

        def listen():
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute("LISTEN safecampus_alarms")
                while not stop.is_set():
                    for n in conn.notifies(timeout=0.5):
                        body = json.loads(n.payload)
                        if body["sensor_id"].startswith("trig-") and body["action"] == "raised":
                            notified[body["sensor_id"]] = time.time()

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        procs, _done, start_at, _total = start_publishers(mqtt_url, int(args.rate * args.seconds), 2, rate=args.rate)
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        ep = MqttEndpoint.from_url(mqtt_url)
        trig = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="trig", protocol=mqtt.MQTTv5)
        trig.connect(ep.host, ep.port)
        trig.loop_start()
        while time.time() < start_at + 2:
            time.sleep(0.01)
        for i in range(args.triggers):
            sid = f"trig-{i}"
            now = time.time()
            sent[sid] = now
            body = json.dumps({"event_id": "t", "ts": format_ts(datetime.now(UTC)), "event": "door_forced"}).encode()
            trig.publish(f"campus/v1/bench/door/{sid}", body, qos=1)
            time.sleep(max(0.0, (args.seconds - 4) / args.triggers))
        for p in procs:
            p.join()
        time.sleep(2)
        stop.set()
        listener.join(2)
        trig.disconnect()
        trig.loop_stop()
        svc.stop()
        pool.close()
    to_commit = [committed[s] - sent[s] for s in sent if s in committed]
    to_notify = [notified[s] - sent[s] for s in sent if s in notified]
    print(f"background load      : {args.rate:.0f} events/s for {args.seconds:.0f} s; {len(sent)} triggers")
    print(
        f"publish -> committed : p50 {percentile(to_commit, 50) * 1000:.0f} ms, "
        f"p99 {percentile(to_commit, 99) * 1000:.0f} ms "
        f"({len(to_commit)}/{len(sent)})"
    )
    print(
        f"publish -> NOTIFY    : p50 {percentile(to_notify, 50) * 1000:.0f} ms, "
        f"p99 {percentile(to_notify, 99) * 1000:.0f} ms "
        f"({len(to_notify)}/{len(sent)}) (target p99 < 300 ms)"
    )


if __name__ == "__main__":
    main()
