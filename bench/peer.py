"""``bench/ingest.py``'s main measurement: the real ``safecampus ingest`` against mq-bridge (a Rust
MQTT → PostgreSQL bridge storing one raw row per message; a bench-only dependency, pinned in
``pyproject.toml``'s ``bench`` extra) on the same feed, through the same kind of private broker,
each into its own fresh database, with the same in-flight window.

For each consumer, twice: **live** (it runs while the publishers send the readings) and **drain**
(a backlog published while the consumer is paused with SIGSTOP, so the broker queues it for the
connected client, then taken at once after SIGCONT: the same for both, whatever their sessions do).
Rates are stored rows per second; CPU counts only the consumer's own processes: its process and
children, its broker, and the PostgreSQL backends connected to its database (not the bench's own
connection, not the publishers, nothing else on the machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil
import psycopg
from common import ROOT, RowCounter, fresh_database, private_broker, start_ingest, start_publishers  # noqa: I001

CORES = os.cpu_count() or 1
WINDOW = 20_000  # messages in flight to a consumer: ingest's queue (receive maximum), mq-bridge's max_inflight
MQ_BRIDGE = """
import sys, mq_bridge
url, db, window = sys.argv[1], sys.argv[2], int(sys.argv[3])
mq_bridge.Route.from_config({
    "input": {"mqtt": {"url": url, "topic": "campus/v1/#", "qos": 1, "client_id": "mq-bridge-bench",
                       "clean_session": False, "session_expiry_interval": 86400, "protocol": "v5",
                       "max_inflight": window, "delayed_ack": True, "keep_alive_seconds": 60}},
    "output": {"sqlx": {"url": db, "table": "raw_messages", "auto_create_table": True}},
    "startup_timeout_ms": 120000,  # with a backlog waiting, connecting takes longer than its default 5 s
}, name="bench").run()
"""


@dataclass(frozen=True)
class Run:
    """One consumer's figures for one way of taking the feed."""

    rate: float  # stored rows per second
    cpu_us: float  # its own processes' CPU per stored row (microseconds)
    parts: dict[str, float]  # the same, by process kind

    @property
    def cores(self) -> float:
        """Cores its processes kept busy on average: where the machine is full, only less CPU per
        event makes the rate higher (docs/scaling.md, "What the two goals ask together")."""
        return self.rate * self.cpu_us / 1e6


def _broker_pid(url: str) -> int:
    port = int(url.rsplit(":", 1)[1])
    return next(c.pid for c in psutil.net_connections("tcp")
                if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid)


class Own:
    """CPU seconds of one consumer's own processes, by kind."""

    def __init__(self, consumer: psutil.Process, broker: int, conn: psycopg.Connection, db: str) -> None:
        self.consumer, self.broker, self.conn, self.db = consumer, psutil.Process(broker), conn, db
        self.seen: dict[int, float] = {}  # backend pid → CPU when first seen (0 when it began during the run)
        self.me = conn.execute("SELECT pg_backend_pid()").fetchone()[0]

    def _backends(self) -> list[int]:
        rows = self.conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                                 (self.db, self.me)).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _cpu(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
            return t.user + t.system
        except psutil.Error:
            return 0.0

    def sample(self) -> dict[str, float]:
        """CPU seconds so far: the consumer (with children), the broker, the database's backends."""
        consumer = self._cpu(self.consumer) + sum(self._cpu(c) for c in self.consumer.children(recursive=True))
        backends = 0.0
        for pid in self._backends():
            try:
                backends += self._cpu(psutil.Process(pid))
            except psutil.Error:
                pass
        return {"consumer": consumer, "broker": self._cpu(self.broker), "postgresql": backends}


def _measure(start: Callable[[], subprocess.Popen], table: str, mqtt_url: str, db_url: str, events: int,
             publishers: int, live: bool) -> Run:
    db = db_url.rsplit("/", 1)[1]
    proc = start()
    time.sleep(5)  # connected and subscribed
    with psycopg.connect(db_url, autocommit=True) as conn:
        own = Own(psutil.Process(proc.pid), _broker_pid(mqtt_url), conn, db)
        rows = RowCounter(conn, table)
        before = rows.count()
        if not live:
            own.consumer.suspend()
            pubs, _done, _at, total = start_publishers(mqtt_url, events, publishers)
            for p in pubs:
                p.join()
        c0, t0 = own.sample(), time.time()
        if live:
            pubs, _done, _at, total = start_publishers(mqtt_url, events, publishers, delay=0.2)
        else:
            own.consumer.resume()
        moved, seen = time.monotonic(), before
        try:
            while (stored := rows.count()) - before < total:
                if proc.poll() is not None:
                    raise RuntimeError(f"{table}: the consumer exited with {proc.returncode}")
                if stored != seen:
                    seen, moved = stored, time.monotonic()
                elif time.monotonic() - moved > 30:
                    raise RuntimeError(f"{table}: {stored - before} of {total} stored, nothing more for 30 s")
                rows.pause(stored - before, total, time.time() - t0)
            t1, c1 = time.time(), own.sample()
        finally:
            proc.terminate()
            proc.wait(30)
        if live:
            for p in pubs:
                p.join()
    parts = {k: (c1[k] - c0[k]) / total * 1e6 for k in c1}
    return Run(total / (t1 - t0), sum(parts.values()), parts)


def safecampus(mqtt_url: str, db_url: str, events: int, publishers: int, live: bool) -> Run:
    """The real ``safecampus ingest`` (alarm engine, rollups, alarm publisher on)."""
    tag = f"peer{os.getpid()}{int(live)}"
    env = {"SAFECAMPUS_INGEST_QUEUE_SIZE": str(WINDOW)}
    return _measure(lambda: start_ingest(mqtt_url, db_url, tag, tag, env), "events", mqtt_url, db_url, events,
                    publishers, live)


def mq_bridge(mqtt_url: str, db_url: str, events: int, publishers: int, live: bool) -> Run:
    """mq-bridge: MQTT → one raw row per message."""
    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", MQ_BRIDGE, mqtt_url, db_url, str(WINDOW)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _measure(start, "raw_messages", mqtt_url, db_url, events, publishers, live)


def compare(events: int, publishers: int) -> None:
    """Both consumers, live and draining, each in a fresh database and broker; the ratios."""
    results: dict[tuple[str, str], Run] = {}
    for mode in ("drain", "live"):
        for name, run in (("mq-bridge", mq_bridge), ("safecampus ingest", safecampus)):
            with private_broker() as mqtt_url, fresh_database() as db_url:
                r = run(mqtt_url, db_url, events, publishers, mode == "live")
            results[(name, mode)] = r
            parts = ", ".join(f"{k} {v:.0f}" for k, v in r.parts.items())
            print(f"{mode:5} {name:17}: {r.rate:8.0f} rows/s, own CPU {r.cpu_us:5.0f} us/event ({parts}), "
                  f"{r.cores:.2f} of {CORES} cores busy", flush=True)
    for mode in ("drain", "live"):
        ours, peer = results[("safecampus ingest", mode)], results[("mq-bridge", mode)]
        # rate = cores busy / CPU per event, so the rate ratio is the cores' ratio over the CPU's.
        print(f"{mode:5} safecampus / mq-bridge: rate {ours.rate / peer.rate:.2f}x (goal >= 1.0 draining), "
              f"CPU per event {ours.cpu_us / peer.cpu_us:.2f}x (goal <= 1.5), "
              f"cores busy {ours.cores / peer.cores:.2f}x")
    print(json.dumps({f"{n} {m}": round(r.rate) for (n, m), r in results.items()}))
