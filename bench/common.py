"""Shared set-up for benchmarks: a private broker, a fresh database, publisher processes."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import secrets
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.config import MqttEndpoint  # noqa: E402
from ingest.db.migrate import migrate  # noqa: E402
from ingest.services import EmbeddedBroker  # noqa: E402

ADMIN_URL = os.environ.get("SAFECAMPUS_BENCH_DB_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def private_broker():
    """A Mosquitto configured like production, on a free port, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker(Path(tmp), preferred_port=0)
        url = broker.start()
        try:
            yield url
        finally:
            broker.stop()


@contextmanager
def fresh_database():
    """A migrated database on the benchmark server, dropped afterwards."""
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _publisher(mqtt_url: str, index: int, count: int, rate: float, start_at: float, done) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    ep = MqttEndpoint.from_url(mqtt_url)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                         client_id=f"bench-pub-{index}-{secrets.token_hex(3)}", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(ep.host, ep.port)
    client.loop_start()
    while time.time() < start_at:
        time.sleep(0.001)
    t0 = time.monotonic()
    infos = []
    for i in range(count):
        if rate:
            due = t0 + i / rate
            while time.monotonic() < due:
                time.sleep(max(0.0, min(due - time.monotonic(), 0.002)))
        now = time.time()
        body = json.dumps({"event_id": f"{index}-{i}", "ts": int(now * 1000), "pub_t": now,
                           "readings": {"temperature_c": 21.5, "humidity_pct": 40}}).encode()
        infos.append(client.publish(f"campus/v1/bench/lab/b{index}-{i % 100}", body, qos=1))
        if len(infos) >= 500:
            for info in infos:
                info.wait_for_publish(60)
            infos.clear()
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    done.put(time.time())


def start_publishers(mqtt_url: str, total: int, processes: int, rate: float = 0.0, delay: float = 1.0):
    """Start publisher processes that begin together ``delay`` seconds from now."""
    ctx = mp.get_context("spawn")
    done = ctx.Queue()
    start_at = time.time() + delay
    per = total // processes
    procs = [ctx.Process(target=_publisher, args=(mqtt_url, i, per, rate / processes if rate else 0.0, start_at, done))
             for i in range(processes)]
    for p in procs:
        p.start()
    return procs, done, start_at, per * processes


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, nearest rank."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]
