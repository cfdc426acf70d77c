"""Publish every alarm change on MQTT: retained current state on ``campus/v1/_alarms/<id>``.

Changes arrive as PostgreSQL notifications (from ingest and from officers' actions alike),
so this is the one place that talks MQTT about alarms. One ingestor at a time publishes
(a session advisory lock); the others stand by and take over if it goes away.

Notifications are only heard while we listen, so whenever the publisher takes the lead or its
broker connection is new, it resynchronises: it reads what the broker retains, republishes
every open alarm's current state and clears the retained topics of alarms that are closed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest.alarms import messages
from ingest.alarms import queries as q
from ingest.core.background import BackgroundLoop
from ingest.core.i18n import DEFAULT_LANGUAGE
from ingest.db import locks
from ingest.mqtt.contract import ROOT, alarm_topic
from ingest.mqtt.link import MqttLink
from ingest.mqtt.receive import RawPublish

RETAINED_QUIET_S = 0.5  # the broker sends retained messages at once; this long without one: all read
RETAINED_MAX_S = 10.0

logger = logging.getLogger(__name__)

PUBLIC_FIELDS = ("id", "sensor_id", "building_id", "zone", "condition", "family", "signal_class", "priority",
                 "state", "active", "latched", "drill", "suppressed", "confirmed", "message_key", "message_params",
                 "value",
                 "occurrences", "raised_at", "last_seen_at", "cleared_at", "acked_at", "acked_by", "assigned_to",
                 "shelved_until", "escalated_at", "closed_at", "disposition", "version")


def alarm_message(alarm: dict[str, Any], language: str = DEFAULT_LANGUAGE) -> bytes:
    """The retained JSON for an open alarm; empty (clears the retained message) once closed.

    ``message`` is in the site's language; ``message_key`` and ``message_params`` let a
    subscriber render it in its own.
    """
    if alarm["state"] == "closed":
        return b""
    body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in alarm.items() if k in PUBLIC_FIELDS}
    body["message"] = messages.render(alarm.get("message_key"), alarm.get("message_params"), language,
                                      alarm.get("message") or "")
    body["language"] = language
    body["type"] = alarm["condition"]
    body["building"] = alarm["building_id"]
    return json.dumps(body, separators=(",", ":")).encode()


class AlarmPublisher(BackgroundLoop):
    """LISTENs for alarm changes and publishes them, while it holds the leader lock."""

    def __init__(self, db_url: str, link: MqttLink, language: str = DEFAULT_LANGUAGE) -> None:
        super().__init__("alarm-publisher")
        self._db_url = db_url
        self._language = language
        self._link = link
        self.leader = False
        self._synced_generation = -1
        self.resyncs = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._serve()
            except psycopg.Error as exc:
                if self.leader:
                    logger.warning("alarm publisher lost its database connection: %s", exc)
                self.leader = False
                self._stop.wait(2)

    def _serve(self) -> None:
        with psycopg.connect(self._db_url, autocommit=True) as conn:
            while not self._stop.is_set():
                got = conn.execute(q.LEADER_LOCK, {"key": locks.ALARM_PUBLISHER}).fetchone()
                if got and got[0]:
                    break
                self._stop.wait(3)
            else:
                return
            self.leader = True
            logger.info("publishing alarm changes on MQTT")
            conn.execute(q.LISTEN_ALARMS)
            self._synced_generation = -1  # a new leader resynchronises first
            while not self._stop.is_set():
                generation = self._link.generation
                if generation != self._synced_generation and self._link.connected.is_set():
                    self._resync(conn)
                    self._synced_generation = generation
                # Collect first: the connection cannot run queries while it waits for notifies.
                ids = [json.loads(n.payload)["id"] for n in conn.notifies(timeout=1.0, stop_after=500)]
                for alarm_id in dict.fromkeys(ids):
                    self._publish(conn, alarm_id)

    def _resync(self, conn: psycopg.Connection) -> None:
        """Make the broker's retained alarm topics say what the database says."""
        retained = self._retained_ids()
        with conn.cursor(row_factory=dict_row) as cur:
            open_alarms = cur.execute(q.ALL_OPEN).fetchall()
        for alarm in open_alarms:
            self._link.publish(alarm_topic(alarm["id"]), alarm_message(alarm, self._language), qos=1, retain=True)
        open_ids = {str(a["id"]) for a in open_alarms}
        stale = sorted(retained - open_ids)
        for alarm_id in stale:
            self._link.publish(alarm_topic(alarm_id), b"", qos=1, retain=True)  # empty: clears it
        self.resyncs += 1
        logger.info("alarm topics resynchronised: %d open alarms published, %d closed ones cleared",
                    len(open_alarms), len(stale))

    def _retained_ids(self) -> set[str]:
        """The alarm ids the broker holds a retained message for (read by a short-lived client)."""
        found: set[str] = set()
        last = [time.monotonic()]
        lock = threading.Lock()

        def on_messages(messages: list[RawPublish], _gen: int) -> None:  # no I/O
            with lock:
                found.update(topic.decode("utf-8", "replace").rsplit("/", 1)[-1]
                             for topic, payload, _mid, _qos in messages if payload)
            last[0] = time.monotonic()

        scan = MqttLink(self._link.endpoint, f"{self._link.client_id}-scan", subscriptions=[f"{ROOT}/_alarms/+"],
                        on_message=on_messages)
        scan.start()
        try:
            if not scan.wait_subscribed(RETAINED_MAX_S):
                logger.warning("could not read the retained alarm topics; republishing the open alarms only")
                return set()
            last[0] = time.monotonic()
            deadline = time.monotonic() + RETAINED_MAX_S
            while time.monotonic() - last[0] < RETAINED_QUIET_S and time.monotonic() < deadline:
                self._stop.wait(0.05)
        finally:
            scan.stop()
        with lock:
            return set(found)

    def _publish(self, conn: psycopg.Connection, alarm_id: int) -> None:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(q.BY_ID, {"id": alarm_id})
            alarm = cur.fetchone()
        if alarm:
            self._link.publish(alarm_topic(alarm_id), alarm_message(alarm, self._language), qos=1, retain=True)
