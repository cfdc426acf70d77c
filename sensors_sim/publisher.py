"""Publish simulated or replayed messages: paced, and never silently lost.

MQTT 5 brokers answer a QoS 1 publish that reached no subscriber with PUBACK reason
code 16 ("no matching subscribers"): ingest is not subscribed at that moment (not yet
started, restarting, or a broker restart that dropped its session's subscription). A
careful gateway keeps such messages and sends them again; so does this publisher.
Ingest stores each event once, so a message sent twice is harmless.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ingest.mqtt.link import MqttLink
from sensors_sim.life import SimMessage

logger = logging.getLogger(__name__)

NO_MATCHING_SUBSCRIBERS = 16
REFUSED = 0x80  # reason codes from 128 on: the broker refused the message (e.g. 135, not authorized by the ACL)


@dataclass
class PublishStats:
    """What a publishing run did."""

    published: int = 0
    resent: int = 0
    seconds: float = 0.0
    undelivered: int = 0  # never taken by a subscriber, after every resend
    refused: int = 0  # refused by the broker (ACL, size)

    @property
    def delivered(self) -> int:
        """Messages a subscriber took."""
        return self.published - self.undelivered - self.refused

    @property
    def rate(self) -> float:
        """Messages per second achieved."""
        return self.published / self.seconds if self.seconds else 0.0


class ReliablePublisher:
    """QoS 1 publishing over an MqttLink that resends messages no subscriber took."""

    def __init__(self, link: MqttLink, max_pending: int = 200_000) -> None:
        self.link = link
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[str, bytes]] = {}
        self._unrouted: deque[tuple[str, bytes]] = deque()
        self._early: dict[int, int] = {}
        self._max_pending = max_pending
        self.resent = 0
        self.refused = 0
        link.on_published = self._on_published

    def _settle(self, item: tuple[str, bytes], reason: int) -> None:
        """Called with our lock held, once per acknowledged message."""
        if reason == NO_MATCHING_SUBSCRIBERS:
            self._unrouted.append(item)
        elif reason >= REFUSED:
            self.refused += 1
            if self.refused == 1:  # one line, not one per message
                logger.warning("broker refused %s (reason %d): check this account's ACL", item[0], reason)

    def _on_published(self, mid: int, reason: int) -> None:  # network thread: bookkeeping only
        with self._lock:
            item = self._pending.pop(mid, None)
            if item is None:
                self._early[mid] = reason  # acknowledged before publish() recorded it
            else:
                self._settle(item, reason)

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue one QoS 1 message (blocks while too many are unacknowledged)."""
        while self.outstanding() >= self._max_pending:
            time.sleep(0.005)
        # Never hold our lock while calling paho: its network thread holds paho's own lock
        # when it calls back into _on_published.
        info = self.link.publish(topic, payload, qos=1)
        with self._lock:
            reason = self._early.pop(info.mid, None)
            if reason is None:
                self._pending[info.mid] = (topic, payload)
            else:
                self._settle((topic, payload), reason)

    def resend_unrouted(self) -> int:
        """Send again what reached no subscriber; returns how many."""
        with self._lock:
            items = list(self._unrouted)
            self._unrouted.clear()
        for topic, payload in items:
            self.publish(topic, payload)
        self.resent += len(items)
        return len(items)

    def outstanding(self) -> int:
        """Messages not yet taken by a subscriber."""
        with self._lock:
            return len(self._pending) + len(self._unrouted)

    def flush(self, timeout: float, stop: threading.Event | None = None, retry_every: float = 1.0) -> bool:
        """Wait until every message was taken by a subscriber; resend the unrouted ones."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            if self.resend_unrouted():
                time.sleep(retry_every)  # give ingest time to (re)subscribe
                continue
            if self.outstanding() == 0:
                return True
            time.sleep(0.02)
        return self.outstanding() == 0


def publish_paced(
    link: MqttLink,
    messages: Iterable[SimMessage],
    *,
    speed: float = 1.0,
    stop: threading.Event | None = None,
    until: datetime | None = None,
    max_messages: int | None = None,
    flush_timeout: float = 30.0,
    progress: bool = False,
    total: int | None = None,
) -> PublishStats:
    """Publish ``messages`` so that event time advances ``speed`` times faster than wall time."""
    stop = stop or threading.Event()
    pub = ReliablePublisher(link)
    stats = PublishStats()
    t0 = time.monotonic()
    last_retry = t0
    first_ts: datetime | None = None
    for msg in messages:
        if stop.is_set() or (until is not None and msg.ts >= until):
            break
        if first_ts is None:
            first_ts = msg.ts
        due = t0 + (msg.ts - first_ts).total_seconds() / speed
        wait = due - time.monotonic()
        if wait > 0 and stop.wait(wait):
            break
        pub.publish(msg.topic, msg.body())
        stats.published += 1
        if time.monotonic() - last_retry > 1.0:
            pub.resend_unrouted()
            last_retry = time.monotonic()
            if progress:
                _progress(stats.published, total, msg.ts)
        if max_messages is not None and stats.published >= max_messages:
            break
    if not pub.flush(5.0 if stop.is_set() else flush_timeout):
        logger.warning("%d messages were not taken by any subscriber", pub.outstanding())
    stats.undelivered = pub.outstanding()
    stats.refused = pub.refused
    stats.resent = pub.resent
    stats.seconds = time.monotonic() - t0
    if progress:
        sys.stderr.write("\n")
    return stats


def _progress(done: int, total: int | None, at: datetime) -> None:
    """One self-overwriting status line on the terminal."""
    if total:
        width = 30
        filled = int(width * done / total)
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{total}  event time {at:%H:%M:%S}")
    else:
        sys.stderr.write(f"\r{done} published  event time {at:%H:%M:%S}")
    sys.stderr.flush()
