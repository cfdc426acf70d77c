"""The ingest service: MQTT in, bounded queue, batch writer thread, health.

Flow: paho's network thread decodes and validates each message (no I/O) and puts it on
a bounded queue; the writer thread takes a batch (by size or age), stores it in one
transaction and only then acknowledges the messages to the broker (QoS 1, manual acks).
A crash before the commit means the broker redelivers; duplicates are dropped by the
unique key. The broker never has more than ``receive_maximum`` unacknowledged messages
in flight to us, so the queue cannot grow without bound.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg_pool import ConnectionPool

from ingest import contract
from ingest.config import Settings
from ingest.errors import ContractError, DatabaseUnavailableError
from ingest.metrics import IngestMetrics
from ingest.mqtt_client import MqttLink
from ingest.writer import BatchHook, BatchWriter, Rejected, WriteResult

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Inbound:
    """One received message, validated or rejected, with what is needed to ack it."""

    mid: int
    qos: int
    generation: int
    item: contract.Event | Rejected | None  # None: not ours to store, only to acknowledge


class IngestService:
    """Runs one ingestor: ``start()``, then ``stop()`` (flushes what it holds)."""

    def __init__(
        self,
        settings: Settings,
        pool: ConnectionPool,
        hooks: list[BatchHook] | None = None,
        on_commit: Callable[[WriteResult], None] | None = None,
    ) -> None:
        self.settings = settings
        self._on_commit = on_commit
        self.metrics = IngestMetrics()
        self._writer = BatchWriter(pool, settings.ingest_id, hooks or [])
        self._queue: queue.Queue[Inbound] = queue.Queue(maxsize=settings.ingest_queue_size)
        self._stopping = threading.Event()
        self._max_future = timedelta(seconds=settings.ingest_max_future_s)
        self.db_ok = True
        self.link = MqttLink(
            settings.mqtt_endpoint(),
            f"safecampus-ingest-{settings.ingest_id}",
            subscriptions=[contract.subscription(self._share_group())],
            on_message=self._on_message,
            status_topic=contract.service_topic("ingest", settings.ingest_id),
            persistent_session=True,
            session_expiry_s=settings.ingest_session_expiry_s,
            manual_ack=True,
            receive_maximum=settings.ingest_queue_size,
        )
        self.link.on_state_change = self._on_broker_state
        self._thread = threading.Thread(target=self._run_writer, name="ingest-writer", daemon=True)

    def _share_group(self) -> str:
        # Shared subscriptions are an MQTT 5 feature; 3.1.1 brokers get a plain one.
        return self.settings.ingest_share_group if self.settings.mqtt_protocol == "5" else ""

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread and connect to the broker."""
        self._thread.start()
        self.link.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, store and acknowledge what is queued, then disconnect."""
        self.link.unsubscribe_all()
        self._stopping.set()
        self._thread.join(timeout)
        self.link.stop()

    @property
    def healthy(self) -> bool:
        """Connected to the broker and the database accepts writes."""
        return self.link.subscribed.is_set() and self.db_ok

    def health(self) -> dict[str, object]:
        """The state /healthz reports."""
        return {
            "status": "ok" if self.healthy else "degraded",
            "ingest_id": self.settings.ingest_id,
            "broker": "connected" if self.link.connected.is_set() else "disconnected",
            "subscribed": self.link.subscribed.is_set(),
            "broker_error": self.link.fatal_error,
            "database": "ok" if self.db_ok else "unavailable",
            "queue_depth": self._queue.qsize(),
        }

    # -- network thread: decode and queue, never I/O -------------------------------------
    def _on_message(self, raw_topic: bytes, payload: bytes, mid: int, qos: int, generation: int) -> None:
        now = datetime.now(UTC)
        topic = raw_topic.decode("utf-8", "replace")  # topic may be bad UTF-8
        item: contract.Event | Rejected | None
        if contract.is_reserved(topic):
            item = None  # service and alarm topics share the tree; they are not sensor data
        else:
            try:
                item = contract.decode(topic, payload, now, max_future=self._max_future)
            except ContractError as exc:
                item = Rejected(topic, payload, exc.reason, now)
        self.metrics.received.inc()
        # Blocks only if the broker ignores our receive maximum; that is backpressure.
        self._queue.put(Inbound(mid, qos, generation, item))

    def _on_broker_state(self, connected: bool) -> None:
        self.metrics.broker_connected.set(1 if connected else 0)
        if connected:
            logger.info("ingest %s: broker connected", self.settings.ingest_id)

    # -- writer thread --------------------------------------------------------------------
    def _take_batch(self) -> list[Inbound]:
        size = self.settings.ingest_batch_size
        max_age = self.settings.ingest_batch_age_ms / 1000
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + max_age
        while len(batch) < size:
            left = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run_writer(self) -> None:
        while True:
            batch = self._take_batch()
            self.metrics.queue_depth.set(self._queue.qsize())
            if not batch:
                if self._stopping.is_set():
                    return
                continue
            self._store_until_done(batch)

    def _store_until_done(self, batch: list[Inbound]) -> None:
        events = [b.item for b in batch if isinstance(b.item, contract.Event)]
        rejected = [b.item for b in batch if isinstance(b.item, Rejected)]
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                result = self._writer.write(events, rejected)
            except DatabaseUnavailableError as exc:
                if self.db_ok:
                    logger.error("ingest %s: database unavailable, holding %d messages: %s",
                                 self.settings.ingest_id, len(batch), exc)
                    self.db_ok = False
                    self.metrics.db_connected.set(0)
                if self._stopping.is_set() and delay >= 5:
                    logger.error("stopping with %d messages unstored; the broker will redeliver", len(batch))
                    return
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            break
        if not self.db_ok:
            logger.info("ingest %s: database available again", self.settings.ingest_id)
            self.db_ok = True
            self.metrics.db_connected.set(1)
        self.metrics.commit_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(batch))
        self.metrics.stored.inc(result.stored)
        self.metrics.duplicates.inc(result.duplicates)
        self.metrics.dead_lettered.inc(result.dead_lettered)
        if self._on_commit:
            self._on_commit(result)
        generation = self.link.generation
        # After a reconnect the broker redelivers unacked messages with new ids;
        # an ack with an old id could hit a different message, so skip it.
        self.link.ack_many([b.mid for b in batch if b.generation == generation and b.qos > 0])
