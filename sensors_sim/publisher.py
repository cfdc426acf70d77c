"""Publish a stream of simulated messages to the broker with the stream's own pacing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ingest.contract import encode
from ingest.mqtt_client import MqttLink
from sensors_sim.life import SimMessage

logger = logging.getLogger(__name__)


@dataclass
class PublishStats:
    """What a publishing run did."""

    published: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Messages per second achieved."""
        return self.published / self.seconds if self.seconds else 0.0


def publish_paced(
    link: MqttLink,
    messages: Iterable[SimMessage],
    *,
    speed: float = 1.0,
    stop: threading.Event | None = None,
    until: datetime | None = None,
    max_messages: int | None = None,
    qos: int = 1,
) -> PublishStats:
    """Publish ``messages`` so that event time advances ``speed`` times faster than wall time."""
    stop = stop or threading.Event()
    stats = PublishStats()
    t0 = time.monotonic()
    first_ts: datetime | None = None
    pending = []
    for msg in messages:
        if stop.is_set() or (until is not None and msg.ts >= until):
            break
        if first_ts is None:
            first_ts = msg.ts
        due = t0 + (msg.ts - first_ts).total_seconds() / speed
        wait = due - time.monotonic()
        if wait > 0 and stop.wait(wait):
            break
        pending.append(link.publish(msg.topic, encode(msg.payload), qos=qos))
        stats.published += 1
        if len(pending) >= 500:
            _wait_all(pending)
            pending.clear()
        if max_messages is not None and stats.published >= max_messages:
            break
    _wait_all(pending)
    stats.seconds = time.monotonic() - t0
    return stats


def _wait_all(pending: list) -> None:
    for info in pending:
        try:
            info.wait_for_publish(30)
        except (RuntimeError, ValueError):
            logger.warning("a message could not be published (client disconnected); paho retries it")
