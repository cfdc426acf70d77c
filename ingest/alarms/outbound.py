"""Publish every alarm change on MQTT: retained current state on ``campus/v1/_alarms/<id>``.

Changes arrive as PostgreSQL notifications (from ingest and from officers' actions alike),
so this is the one place that talks MQTT about alarms. One ingestor at a time publishes
(a session advisory lock); the others stand by and take over if it goes away.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest.alarms import queries as q
from ingest.background import BackgroundLoop
from ingest.contract import alarm_topic
from ingest.mqtt_client import MqttLink

logger = logging.getLogger(__name__)

LEADER_KEY = 0x5AFEC2
PUBLIC_FIELDS = ("id", "sensor_id", "building_id", "zone", "condition", "family", "signal_class", "priority",
                 "state", "active", "latched", "drill", "suppressed", "confirmed", "message", "value",
                 "occurrences", "raised_at", "last_seen_at", "cleared_at", "acked_at", "acked_by", "assigned_to",
                 "shelved_until", "escalated_at", "closed_at", "disposition", "version")


def alarm_message(alarm: dict[str, Any]) -> bytes:
    """The retained JSON for an open alarm; empty (clears the retained message) once closed."""
    if alarm["state"] == "closed":
        return b""
    body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in alarm.items() if k in PUBLIC_FIELDS}
    body["type"] = alarm["condition"]
    body["building"] = alarm["building_id"]
    return json.dumps(body, separators=(",", ":")).encode()


class AlarmPublisher(BackgroundLoop):
    """LISTENs for alarm changes and publishes them, while it holds the leader lock."""

    def __init__(self, db_url: str, link: MqttLink) -> None:
        super().__init__("alarm-publisher")
        self._db_url = db_url
        self._link = link
        self.leader = False

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
                got = conn.execute(q.LEADER_LOCK, {"key": LEADER_KEY}).fetchone()
                if got and got[0]:
                    break
                self._stop.wait(3)
            else:
                return
            self.leader = True
            logger.info("publishing alarm changes on MQTT")
            conn.execute(q.LISTEN_ALARMS)
            while not self._stop.is_set():
                # Collect first: the connection cannot run queries while it waits for notifies.
                ids = [json.loads(n.payload)["id"] for n in conn.notifies(timeout=1.0, stop_after=500)]
                for alarm_id in dict.fromkeys(ids):
                    self._publish(conn, alarm_id)

    def _publish(self, conn: psycopg.Connection, alarm_id: int) -> None:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(q.BY_ID, {"id": alarm_id})
            alarm = cur.fetchone()
        if alarm:
            self._link.publish(alarm_topic(alarm_id), alarm_message(alarm), qos=1, retain=True)
