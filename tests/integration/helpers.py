"""Helpers for integration tests: run an ingestor in-process, publish, count rows."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from ingest.config import MqttEndpoint, Settings
from ingest.db.pool import open_pool
from ingest.maintainer import IngestService
from tests.conftest import wait_until


@contextmanager
def running_ingest(settings: Settings) -> Iterator[IngestService]:
    """An ingestor connected and subscribed; stopped (flushing) on exit."""
    pool = open_pool(settings.require_db_url(), max_size=3, name="test-ingest")
    service = IngestService(settings, pool)
    service.start()
    try:
        wait_until(service.link.connected.is_set, 10, what="ingest to connect")
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
