"""Helpers for integration tests: run an ingestor in-process, publish, count rows."""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from ingest.core.settings import MqttEndpoint, Settings
from ingest.db.pool import open_pool
from ingest.service.maintainer import IngestService
from tests.conftest import wait_until


@contextmanager
def running_ingest(settings: Settings) -> Iterator[IngestService]:
    """An ingestor connected and subscribed; stopped (flushing) on exit."""
    pool = open_pool(settings.require_db_url(), max_size=3, name="test-ingest")
    service = IngestService(settings, pool)
    service.start()
    try:
        wait_until(service.link.subscribed.is_set, 10, what="ingest to connect and subscribe")
        yield service
    finally:
        service.stop()
        pool.close()


@contextmanager
def publisher(mqtt_url: str) -> Iterator[mqtt.Client]:
    """A plain paho client for publishing test messages (QoS 1)."""
    ep = MqttEndpoint.from_url(mqtt_url)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                         client_id=f"test-pub-{secrets.token_hex(4)}", protocol=mqtt.MQTTv5)
    if ep.username:
        client.username_pw_set(ep.username, ep.password)
    client.connect(ep.host, ep.port)
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def publish_all(client: mqtt.Client, messages: list[tuple[str, bytes | dict]]) -> None:
    """Publish QoS 1 and wait until the broker has every one."""
    infos = []
    for topic, payload in messages:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        infos.append(client.publish(topic, body, qos=1))
    for info in infos:
        info.wait_for_publish(30)


def scalar(db_url: str, sql: str, params: dict | tuple | None = None) -> object:
    """Run one query and return the first column of the first row."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


class IngestProcess:
    """``safecampus ingest`` as a child process, to be killed and restarted like in production."""

    def __init__(self, db_url: str, mqtt_url: str, ingest_id: str, share_group: str, log_dir, **extra: str) -> None:
        import os

        from ingest.app.embedded import pick_port

        self.ingest_id = ingest_id
        self.health_port = pick_port(0)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
        self.env |= {
            "SAFECAMPUS_DB_URL": db_url,
            "SAFECAMPUS_MQTT_URL": mqtt_url,
            "SAFECAMPUS_INGEST_ID": ingest_id,
            "SAFECAMPUS_INGEST_SHARE_GROUP": share_group,
            "SAFECAMPUS_INGEST_HEALTH_PORT": str(self.health_port),
            "SAFECAMPUS_INGEST_SESSION_EXPIRY_S": "600",
        } | {f"SAFECAMPUS_{k.upper()}": v for k, v in extra.items()}
        self.log = log_dir / f"ingest-{ingest_id}.log"
        self.proc = None

    def start(self) -> IngestProcess:
        import subprocess
        import sys

        from tests.conftest import ROOT

        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "ingest.app.cli", "ingest"], env=self.env,
                                         cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: self.health().get("broker") == "connected", 20, 0.1,
                   what=f"ingest {self.ingest_id} to connect")
        return self

    def health(self) -> dict:
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as err:  # 503 while degraded still has a body
            return json.loads(err.read())
        except OSError:
            return {}

    def kill9(self) -> None:
        import signal

        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            return self.proc.wait(20)
        return self.proc.returncode if self.proc else 0


def stream(mqtt_url: str, building: str, n: int, *, sensors: int = 50, client_id: str | None = None):
    """Publish ``n`` valid QoS 1 events in a background thread; returns (thread, result dict).

    Uses the product's ReliablePublisher on a persistent session, as a gateway would.
    """
    import threading
    from datetime import UTC, datetime, timedelta

    from ingest.mqtt.contract import format_ts
    from ingest.mqtt.link import MqttLink
    from sensors_sim.publisher import ReliablePublisher

    result: dict = {"published": 0, "resent": 0, "error": None, "outstanding": None}
    t0 = datetime.now(UTC) - timedelta(hours=1)

    def run() -> None:
        link = MqttLink(MqttEndpoint.from_url(mqtt_url), client_id or f"stream-{secrets.token_hex(4)}",
                        persistent_session=True, session_expiry_s=600)
        link.start()
        try:
            if not link.wait_connected(10):
                raise RuntimeError("publisher could not connect")
            pub = ReliablePublisher(link, max_pending=2_000)
            for i in range(n):
                body = json.dumps({"event_id": f"e{i}", "ts": format_ts(t0 + timedelta(milliseconds=i)),
                                   "seq": i, "readings": {"temperature_c": 20 + (i % 7)}}).encode()
                pub.publish(f"campus/v1/{building}/lab/{building}-s{i % sensors}", body)
                result["published"] += 1
            ok = pub.flush(120)
            result["resent"], result["outstanding"] = pub.resent, pub.outstanding()
            if not ok:
                raise RuntimeError(f"{pub.outstanding()} messages never reached a subscriber")
        except Exception as exc:  # noqa: BLE001 - reported to the test
            result["error"] = repr(exc)
        finally:
            link.stop()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


@contextmanager
def running_ingest_with_alarms(settings: Settings, *, tick: bool = True):
    """An ingestor with the alarm engine and guard tours, their tickers and the MQTT alarm publisher."""
    from ingest.alarms.engine import AlarmEngine, Ticker
    from ingest.alarms.outbound import AlarmPublisher
    from ingest.patrol.engine import PatrolEngine, PatrolTicker

    pool = open_pool(settings.require_db_url(), max_size=4, name="test-ingest-alarms")
    engine = AlarmEngine(escalation_s=settings.escalation_limits())
    patrols = PatrolEngine(engine)
    service = IngestService(settings, pool, hooks=[engine.on_batch, patrols.on_batch],
                            prepare=[engine.prepare_batch])
    publisher_ = AlarmPublisher(settings.require_db_url(), service.link, settings.site_language)
    ticker = Ticker(engine, pool, every_s=0.2)
    patrol_ticker = PatrolTicker(patrols, pool, every_s=0.2)
    service.start()
    publisher_.start()
    if tick:
        ticker.start()
        patrol_ticker.start()
    try:
        wait_until(service.link.subscribed.is_set, 10, what="ingest to connect and subscribe")
        yield service, engine, pool
    finally:
        if tick:
            ticker.stop()
            patrol_ticker.stop()
        publisher_.stop()
        service.stop()
        pool.close()


def now_ts(offset_s: float = 0.0) -> str:
    """An RFC 3339 timestamp ``offset_s`` from now."""
    from datetime import UTC, datetime, timedelta

    from ingest.mqtt.contract import format_ts

    return format_ts(datetime.now(UTC) + timedelta(seconds=offset_s))


def alarms_for(db_url: str, sensor_id: str) -> list[dict]:
    """Every alarm of a sensor, oldest first, as dicts."""
    from psycopg.rows import dict_row

    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM alarms WHERE sensor_id = %s ORDER BY id", (sensor_id,)).fetchall()


def tiny_site(tag: str, doors: int = 3, smoke: int = 0):
    """A one-building site of one room (zone b<tag>-F0) with ``doors`` door readers named door<tag>-<n>
    and ``smoke`` detectors named r<tag>-smoke-<n> (from 1)."""
    from ingest.core.site import Site

    sensors = [{"kind": "door", "id": f"door{tag}-{n}"} for n in range(doors)]
    if smoke:
        sensors.append({"kind": "smoke", "count": smoke})
    return Site.model_validate({
        "name": "t", "departments": [{"id": f"d{tag}", "name": "Dept"}],
        "buildings": [{"id": f"b{tag}", "name": "B", "use": "lab", "department": f"d{tag}", "floors": 1,
                       "outline": [[0, 0], [1, 0], [1, 1]], "rooms": [
                           {"id": f"r{tag}", "name": "Lab", "use": "lab", "floor": 0,
                            "sensors": sensors}]}]})


def seed_alarm_history(settings: Settings, mqtt_url: str, db_url: str, doors: int = 3) -> list[int]:
    """Through the real ingest and engine: a tamper alarm per door, each acknowledged with a note,
    and a duty-log entry. Returns the alarm ids."""
    from ingest.alarms import actions
    from ingest.db.registry import load_site

    tag = secrets.token_hex(3)
    with psycopg.connect(db_url) as conn:
        load_site(conn, tiny_site(tag, doors))
    with running_ingest_with_alarms(settings, tick=False), publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/b{tag}/door/door{tag}-{n}",
                           {"event_id": f"e{n}", "ts": now_ts(), "event": "tamper"}) for n in range(doors)])
        alarms = [wait_until(lambda n=n: (alarms_for(db_url, f"door{tag}-{n}") or [None])[0], 10, what="tamper alarm")
                  for n in range(doors)]
    with psycopg.connect(db_url) as conn:
        for a in alarms:
            actions.acknowledge(conn, a["id"], "officer1", "on my way")
            actions.add_note(conn, a["id"], "officer1", "cover <b>refitted</b>; O'Brien's lab")
        conn.execute("INSERT INTO duty_log (author, kind, note) VALUES ('officer1', 'equipment', 'panel normal')")
        conn.commit()
    return [a["id"] for a in alarms]


def start_run(tmp_path, log):
    """``safecampus run`` with no settings but a data folder and free ports, in its own session."""
    import os
    import subprocess
    import sys

    from ingest.app.embedded import pick_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_DATA_DIR": str(tmp_path / "data"),
            "SAFECAMPUS_DASHBOARD_PORT": str(pick_port(0)),
            "SAFECAMPUS_INGEST_HEALTH_PORT": str(pick_port(0))}
    return subprocess.Popen([sys.executable, "-m", "ingest.app.cli", "run"], env=env, cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def run_banner(path):
    """(dashboard URL, database URL) from the banner ``safecampus run`` prints, once it has."""
    import re

    text = path.read_text()
    m = re.search(r"wall\s+(http://\S+)/wall\S*.*?database\s+(postgresql://\S+)", text, re.S)
    return (m.group(1), m.group(2)) if m else None


class WallScreen(threading.Thread):
    """One wall screen's event stream (kiosk login, then server-sent events), kept open."""

    def __init__(self, port: int, kiosk: str = "k-token") -> None:
        super().__init__(daemon=True)
        self.port, self.kiosk, self.changes, self.open = port, kiosk, [], threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.request("GET", f"/wall?kiosk={self.kiosk}")
        resp = conn.getresponse()
        cookie = resp.getheader("Set-Cookie", "").split(";")[0]
        resp.read()
        conn.request("GET", "/events/alarms", headers={"Cookie": cookie})
        resp = conn.getresponse()
        self.open.set()
        while line := resp.fp.readline():
            if line.startswith(b"data: "):
                change = json.loads(line[6:])
                if change.get("channel") != "resync":  # a listener reconnect, not an alarm change
                    self.changes.append(change)


def own_ingest_settings(db_url: str, mqtt_url: str, prefix: str = "t", **overrides: object) -> Settings:
    """Settings for an ingestor of its own (its own id and share group, no health port)."""
    from ingest.core.settings import load_settings

    base: dict[str, object] = {"db_url": db_url, "mqtt_url": mqtt_url, "ingest_id": f"{prefix}{secrets.token_hex(3)}",
                               "ingest_share_group": f"{prefix}{secrets.token_hex(3)}", "ingest_health_port": 0,
                               "ingest_session_expiry_s": 60}
    return load_settings(**(base | overrides))


def run_cli(env: dict[str, str], *args: str, timeout: float = 120):
    """``safecampus ARGS`` as a child process with ``env``; the CompletedProcess (text output)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    return subprocess.run([sys.executable, "-m", "ingest.app.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def materialise(db_url: str, mode: str) -> None:
    """TimescaleDB: materialise every rollup up to now, as if each refresh policy had just run
    over all time, so that what is stored next is late data below the watermark."""
    if mode != "timescaledb":
        return
    from ingest.db.rollups import AGGREGATES

    with psycopg.connect(db_url, autocommit=True) as conn:
        for agg in AGGREGATES:
            for attempt in range(50):  # a running ingestor's refresh may hold the aggregate a moment
                try:
                    conn.execute("CALL refresh_continuous_aggregate(%s::regclass, NULL, %s::timestamptz)",
                                 (agg.view, rollups_now_floor(agg.width)))
                    break
                except psycopg.errors.LockNotAvailable:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)


def rollups_now_floor(width: timedelta) -> datetime:
    """The start of the current bucket of ``width``."""
    from ingest.db.rollups import bucket_of

    return bucket_of(datetime.now(UTC), width)
