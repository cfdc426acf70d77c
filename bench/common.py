"""Shared set-up for benchmarks: a private broker, a fresh database, publisher processes."""

from __future__ import annotations

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

from ingest.app.embedded import EmbeddedBroker  # noqa: E402
from ingest.db.migrate import migrate  # noqa: E402
from sensors_sim import load  # noqa: E402

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


def start_publishers(mqtt_url: str, total: int, processes: int, rate: float = 0.0, delay: float = 1.0):
    """Publisher processes (sensors_sim.load) that begin together ``delay`` seconds from now."""
    start_at = time.time() + delay
    per = total // processes
    plans = [load.LoadPlan(mqtt_url, i, rate / processes if rate else 0.0, count=per, start_at=start_at,
                           building="bench") for i in range(processes)]
    procs, done = load.start(plans)
    return procs, done, start_at, per * processes


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, nearest rank."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]
