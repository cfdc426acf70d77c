"""Alarm latency: with background traffic flowing, how fast does a trigger become an alarm?

Publishes a steady background load (default 2,000 events/s) from publisher processes and,
meanwhile, door_forced triggers on their own sensors every 100 ms. Measures
publish -> alarm committed (the batch transaction that raised it) and
publish -> NOTIFY received by a listening connection (what dashboards get).
Target: p99 under 300 ms. Run: .venv/bin/python bench/alarm_latency.py
"""

from __future__ import annotations

import argparse
import secrets
import time

from common import RaisedListener, fresh_database, percentile, private_broker, send_triggers, start_publishers  # noqa: I001, E501

from ingest.alarms.engine import AlarmEngine
from ingest.core.settings import load_settings
from ingest.db.pool import open_pool
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
        committed: dict[str, float] = {}

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
        listener = RaisedListener(db_url).start()
        procs, _done, start_at, _total = start_publishers(mqtt_url, int(args.rate * args.seconds), 2, rate=args.rate)
        sent = send_triggers(mqtt_url, start_at, args.triggers, args.seconds, "door", {"event": "door_forced"})
        for p in procs:
            p.join()
        time.sleep(2)
        listener.stop()
        notified = listener.raised
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
