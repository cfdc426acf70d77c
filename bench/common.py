"""Shared set-up for benchmarks: a private broker, a fresh database, publisher processes."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def start_publishers(mqtt_url: str, total: int, processes: int, rate: float = 0.0, delay: float = 1.0,
                     fmt: str = "native", building: str = "bench"):
    """Publisher processes (sensors_sim.load) that begin together ``delay`` seconds from now."""
    start_at = time.time() + delay
    per = total // processes
    plans = [load.LoadPlan(mqtt_url, i, rate / processes if rate else 0.0, count=per, start_at=start_at,
                           building=building, format=fmt) for i in range(processes)]
    procs, done = load.start(plans)
    return procs, done, start_at, per * processes


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, nearest rank."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]


class RowCounter:
    """Counts a consumer's stored rows while it runs, costing the machine as little as it can.

    ``count(*)`` reads the whole table (15-20 ms for 300,000 events, by three processes with
    PostgreSQL's parallel workers): asked every 20 ms it took up to a core of the two the consumer
    and its broker and database share, and more as the table grew. Here the count runs in one
    process, and between counts the poller sleeps an eighth of the time the rate so far says is
    left (from ``min_s`` to ``max_s``): fewer counts while much is left, one every ``min_s`` near the
    end. A consumer that speeds up (its first batch waits, the next ones do not) is still seen done
    within ``min_s`` plus one count unless it goes more than eight times its average so far.
    """

    def __init__(self, conn: psycopg.Connection, table: str, min_s: float = 0.02, max_s: float = 0.1) -> None:
        self.conn, self.min_s, self.max_s = conn, min_s, max_s
        self._query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        conn.execute("SET max_parallel_workers_per_gather = 0")

    def count(self) -> int:
        """Rows in the table now (0 while the consumer has not created it)."""
        try:
            return int(self.conn.execute(self._query).fetchone()[0])
        except psycopg.errors.UndefinedTable:
            return 0

    def pause(self, done: int, total: int, since: float) -> None:
        """Sleep until the next count: ``done`` of ``total`` rows stored in the ``since`` seconds so far."""
        left = total - done
        rate = done / since if done > 0 and since > 0 else 0.0
        wait = left / rate / 8 if rate else self.min_s
        time.sleep(min(self.max_s, max(self.min_s, wait)))


class RaisedListener:
    """When each alarm on a trigger sensor (``trig-<n>``) was raised, as a LISTENing dashboard hears it."""

    def __init__(self, db_url: str) -> None:
        import threading

        self.raised: dict[str, float] = {}
        self._db_url = db_url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def _listen(self) -> None:
        import json

        with psycopg.connect(self._db_url, autocommit=True) as conn:
            conn.execute("LISTEN safecampus_alarms")
            while not self._stop.is_set():
                for n in conn.notifies(timeout=0.5):
                    body = json.loads(n.payload)
                    if body["sensor_id"].startswith("trig-") and body["action"] == "raised":
                        self.raised[body["sensor_id"]] = time.time()

    def start(self) -> RaisedListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def send_triggers(mqtt_url: str, start_at: float, count: int, seconds: float, kind: str, fields: dict) -> dict:
    """Two seconds into the background load, ``count`` trigger events spread over ``seconds - 4``, each on its
    own sensor ``trig-<n>`` of ``kind`` with ``fields``; returns when each was published."""
    import json
    from datetime import UTC, datetime

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from ingest.core.settings import MqttEndpoint
    from ingest.mqtt.contract import format_ts

    ep = MqttEndpoint.from_url(mqtt_url)
    trig = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="trig", protocol=mqtt.MQTTv5)
    trig.connect(ep.host, ep.port)
    trig.loop_start()
    sent: dict[str, float] = {}
    try:
        while time.time() < start_at + 2:
            time.sleep(0.01)
        for i in range(count):
            sid = f"trig-{i}"
            sent[sid] = time.time()
            body = json.dumps({"event_id": "t", "ts": format_ts(datetime.now(UTC)), **fields}).encode()
            trig.publish(f"campus/v1/bench/{kind}/{sid}", body, qos=1)
            time.sleep(max(0.0, (seconds - 4) / count))
    finally:
        trig.disconnect()
        trig.loop_stop()
    return sent


def start_ingest(mqtt_url: str, db_url: str, ingest_id: str, group: str,
                 extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """The real `safecampus ingest` as a child process (what users run: alarm engine on)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_DB_URL": db_url, "SAFECAMPUS_MQTT_URL": mqtt_url, "SAFECAMPUS_INGEST_ID": ingest_id,
            "SAFECAMPUS_INGEST_SHARE_GROUP": group, "SAFECAMPUS_INGEST_HEALTH_PORT": "0"} | (extra_env or {})
    return subprocess.Popen([sys.executable, "-m", "ingest.app.cli", "ingest"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_dashboard(db_url: str, port: int, **extra_env: str) -> subprocess.Popen:
    """The real `safecampus dashboard` as a child process on ``port`` (English screens)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_DB_URL": db_url, "SAFECAMPUS_DASHBOARD_PORT": str(port),
            "SAFECAMPUS_SECRET_KEY": secrets.token_hex(16), "SAFECAMPUS_SITE_LANGUAGE": "en"} | extra_env
    return subprocess.Popen([sys.executable, "-m", "ingest.app.cli", "dashboard"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
