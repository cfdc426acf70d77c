"""The ingest service: MQTT in, bounded queue, batch writer thread, health.

Flow: paho's network thread puts each socket read's messages, as received, in a bounded inbox
(``ingest.service.inbox``; no I/O, no decoding there); the writer thread takes a batch (by size or
age), reads it (decodes and validates each message: an event, or a dead letter with its reason),
stores it in one transaction and only then acknowledges the messages to the broker (QoS 1, manual
acks). While PostgreSQL takes a batch's COPY the writer reads the next batch's messages
(``ingest.db.copywriter``): the two threads shared one GIL, and paho's decoding held it while
the writer wanted it; now the decoding fills the writer's own waits.
A crash before the commit means the broker redelivers; duplicates are dropped by the
unique key. The broker never has more than ``receive_maximum`` unacknowledged messages
in flight to us, so the queue cannot grow without bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from psycopg_pool import ConnectionPool

from ingest.core.errors import BatchRejectedError, ContractError, DatabaseUnavailableError
from ingest.core.settings import Settings
from ingest.db import queries as dbq
from ingest.mqtt import adapters, contract
from ingest.mqtt.link import MqttLink
from ingest.mqtt.receive import RawPublish
from ingest.service.inbox import Inbox
from ingest.service.metrics import IngestMetrics
from ingest.service.writer import BatchHook, BatchPreparer, BatchWriter, Rejected, WriteResult

logger = logging.getLogger(__name__)
BINDINGS_EVERY_S = 10.0  # how soon a sensor given a source (site load, adoption) is bound


class _GiveUpError(Exception):
    """Stopping while the database is down: leave the batch unacknowledged for redelivery."""


# One received message as it came: (mid, qos, connection generation, topic bytes, payload, receive time).
# A plain tuple: one is made for every message on paho's thread (a dataclass cost 0.14 µs more each).
Received = tuple[int, int, int, bytes, bytes, datetime]
# One message read, validated or rejected, with what is needed to ack it: (mid, qos, connection
# generation, item); item None: not ours to store, only to acknowledge.
Inbound = tuple[int, int, int, "contract.Event | Rejected | None"]
READ_SLICE = 64  # messages read ahead per call while PostgreSQL takes a COPY (about 0.3 ms)
TOPICS_KEPT = 65_536  # topics remembered with their route (a campus has a few thousand sensors)
TOPIC_KEPT_BYTES = 256  # longer topics are routed every time (a sensor topic is at most about 220)
# Whose a topic is: SafeCampus's own (not sensor data), a native sensor's, or a device adapter's.
_RESERVED, _NATIVE, _FOREIGN = object(), object(), object()


class IngestService:
    """Runs one ingestor: ``start()``, then ``stop()`` (flushes what it holds)."""

    def __init__(
        self,
        settings: Settings,
        pool: ConnectionPool,
        hooks: list[BatchHook] | None = None,
        on_commit: Callable[[WriteResult], None] | None = None,
        prepare: list[BatchPreparer] | None = None,
    ) -> None:
        self.settings = settings
        self._on_commit = on_commit
        self.metrics = IngestMetrics()
        self._writer = BatchWriter(pool, settings.ingest_id, hooks or [], read_ahead=self._read_ahead,
                                   prepare=prepare or [])
        self._inbox: Inbox[Received] = Inbox(settings.ingest_queue_size)
        self._ahead: list[Inbound] = []  # the next batch's first messages, read while a COPY ran
        self._topics: dict[bytes, tuple[str, object]] = {}  # the writer thread's alone (_route)
        self._stopping = threading.Event()
        self._limits = settings.contract_limits()
        self._pool = pool
        # Other ecosystems' devices (zigbee2mqtt, Tasmota, LoRaWAN...): their topics and the
        # registry's bindings, re-read and used by the writer thread (which reads the messages).
        self.router = adapters.from_settings(settings)
        self._bindings_at = 0.0
        self.db_ok = True
        # When the writer last committed (or found nothing to do): with messages waiting and
        # no commit for ingest_stall_s, ingest is stalled whatever else looks fine.
        self._last_progress = time.monotonic()
        self.writer_error: str | None = None
        self.link = MqttLink(
            settings.mqtt_endpoint(),
            f"safecampus-ingest-{settings.ingest_id}",
            subscriptions=[contract.subscription(self._share_group()),
                           *(self._shared(f) for f in self.router.filters())],
            on_message=self._on_messages,
            status_topic=contract.service_topic("ingest", settings.ingest_id),
            persistent_session=True,
            session_expiry_s=settings.ingest_session_expiry_s,
            manual_ack=True,
            receive_maximum=settings.ingest_queue_size,
            # MQTT 5: the broker does not send us packets larger than a payload we would take.
            maximum_packet_size=settings.ingest_max_payload_bytes + 65_536 + 1024,
        )
        self.link.on_state_change = self._on_broker_state
        self._thread = threading.Thread(target=self._run_writer, name="ingest-writer", daemon=True)
        self._busy = False

    def _share_group(self) -> str:
        # Shared subscriptions are an MQTT 5 feature; 3.1.1 brokers get a plain one.
        return self.settings.ingest_share_group if self.settings.mqtt_protocol == "5" else ""

    def _shared(self, topic_filter: str) -> str:
        group = self._share_group()
        return f"$share/{group}/{topic_filter}" if group else topic_filter

    def refresh_bindings(self) -> None:
        """Read which sensor each foreign device is (a failure keeps the old table)."""
        self._bindings_at = time.monotonic()
        if not self.router.adapters:
            return
        try:
            with self._pool.connection() as conn:
                rows = conn.execute(dbq.SENSOR_SOURCES).fetchall()
        except Exception as exc:  # noqa: BLE001 - the database may be down; the writer says so
            logger.warning("ingest %s: could not read device bindings: %s", self.settings.ingest_id, exc)
            return
        self.router.bindings = adapters.Bindings(rows)  # one assignment, between two reads

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread and connect to the broker."""
        self.refresh_bindings()
        self._thread.start()
        self.link.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Store and acknowledge what is queued, then disconnect, keeping the session.

        No unsubscribe: the broker keeps the persistent session (and its subscription) for
        ``ingest_session_expiry_s`` and queues what gateways publish until we are back.
        Whatever arrives while we flush and is not acknowledged is redelivered then.
        """
        self._stopping.set()  # from now on new messages are left unacknowledged: redelivered later
        self._thread.join(timeout)
        self.link.stop()

    def dead_threads(self) -> list[str]:
        """Names of the service's threads that have died (empty when all run)."""
        dead = []
        if self._thread.ident is not None and not self._thread.is_alive() and not self._stopping.is_set():
            dead.append("ingest-writer")
        if not self.link.network_alive():
            dead.append("mqtt-network")
        return dead

    def _waiting(self) -> int:
        """Messages received and not yet in a batch: in the inbox, or read ahead during a COPY."""
        return len(self._inbox) + len(self._ahead)

    def stalled_s(self) -> float:
        """Seconds messages have waited with no commit (0 when nothing waits)."""
        if not self._waiting() and not self._busy:
            return 0.0
        return time.monotonic() - self._last_progress

    @property
    def healthy(self) -> bool:
        """Subscribed, the database accepts writes, the writer commits, every thread runs."""
        return (self.link.subscribed.is_set() and self.db_ok and self.writer_error is None
                and self.stalled_s() < self.settings.ingest_stall_s and not self.dead_threads())

    def _status(self) -> str:
        if self.writer_error is not None or self.dead_threads():
            return "failed"
        if not self.db_ok or not self.link.subscribed.is_set():
            return "degraded"  # the cause is known and reported beside it
        if self.stalled_s() >= self.settings.ingest_stall_s:
            return "stalled"  # the database says yes, the broker too, and yet nothing is stored
        return "ok"

    def health(self) -> dict[str, object]:
        """The state /healthz reports."""
        return {
            "status": self._status(),
            "stalled_s": round(self.stalled_s(), 1),
            "dead_threads": self.dead_threads(),
            "writer_error": self.writer_error,
            "ingest_id": self.settings.ingest_id,
            "broker": "connected" if self.link.connected.is_set() else "disconnected",
            "subscribed": self.link.subscribed.is_set(),
            "broker_error": self.link.fatal_error,
            "database": "ok" if self.db_ok else "unavailable",
            "queue_depth": self._waiting(),
        }

    # -- network thread: queue, never I/O ------------------------------------------------
    def _on_messages(self, messages: list[RawPublish], generation: int) -> None:
        """The messages of one socket read, queued as they came for the writer to read."""
        if self._stopping.is_set():
            return  # not acknowledged: the broker keeps them in our session and redelivers them
        now = datetime.now(UTC)  # these bytes arrived together: one receive time for all of them
        self.metrics.received.inc(len(messages))
        # Waits only if the broker ignores our receive maximum; that is backpressure.
        self._inbox.put([(mid, qos, generation, topic, payload, now) for topic, payload, mid, qos in messages],
                        self._stopping)

    # -- writer thread --------------------------------------------------------------------
    def _read(self, received: list[Received]) -> list[Inbound]:
        """Each message decoded and validated: an event, a dead letter with its reason, or None (not ours)."""
        decode, limits, router = contract.decode, self._limits, self.router
        inbound: list[Inbound] = []
        ahead = 0
        topics = self._topics
        for mid, qos, generation, raw_topic, payload, now in received:
            route = topics.get(raw_topic)
            if route is None:
                route = self._route(raw_topic)
            topic, where = route
            item: contract.Event | Rejected | None
            if where is _RESERVED:
                item = None  # service and alarm topics share the tree; they are not sensor data
            else:
                try:
                    if where is _NATIVE:
                        item = decode(topic, payload, now, limits)
                        ahead += item.clock_ahead
                    else:
                        item = router.decode(topic, payload, now)
                        if item is None:
                            self.metrics.adapter_ignored.inc()  # a bridge's log, a command, an unplaced heartbeat
                        elif item.clock_ahead:
                            ahead += 1
                except ContractError as exc:
                    item = Rejected(topic, payload, exc.reason, now)
                except Exception as exc:  # noqa: BLE001 - a bug must cost its own message, kept, not the read's
                    logger.exception("ingest %s: reading a message on %r failed", self.settings.ingest_id, topic[:200])
                    item = Rejected(topic, payload, f"could not be read ({type(exc).__name__})", now)
            inbound.append((mid, qos, generation, item))
        if ahead:
            self.metrics.clock_ahead.inc(ahead)
        return inbound

    def _route(self, raw_topic: bytes) -> tuple[str, object]:
        """A topic as text (it may be bad UTF-8) and whose it is, remembered: sensors publish on theirs again."""
        topic = raw_topic.decode("utf-8", "replace")
        if contract.is_reserved(topic):
            route = (topic, _RESERVED)
        else:
            route = (topic, _NATIVE if topic.startswith(contract.SENSOR_PREFIX) else _FOREIGN)
        if len(raw_topic) <= TOPIC_KEPT_BYTES:  # a sensor's topic is short; a flood of long ones is not kept
            if len(self._topics) >= TOPICS_KEPT:
                self._topics.clear()
            self._topics[raw_topic] = route
        return route

    def _read_ahead(self) -> bool:
        """Read a slice of the next batch's messages (while PostgreSQL takes a COPY); False: nothing to do."""
        room = min(READ_SLICE, self.settings.ingest_batch_size - len(self._ahead))
        received = self._inbox.take(room, 0, 0) if room > 0 else []
        if not received:
            return False
        self._ahead += self._read(received)
        return True

    def _on_broker_state(self, connected: bool) -> None:
        self.metrics.broker_connected.set(1 if connected else 0)
        if connected:
            logger.info("ingest %s: broker connected", self.settings.ingest_id)

    def _take_batch(self) -> list[Inbound]:
        """What was read ahead, then what the inbox holds (waiting by the batch rules only when nothing was)."""
        batch, self._ahead = self._ahead, []
        size = self.settings.ingest_batch_size
        if len(batch) < size:
            first_wait = 0.0 if batch else 0.2
            batch += self._read(self._inbox.take(size - len(batch), self.settings.ingest_batch_age_ms / 1000,
                                                 first_wait))
        return batch

    def _run_writer(self) -> None:
        try:
            while True:
                if time.monotonic() - self._bindings_at > BINDINGS_EVERY_S:
                    self.refresh_bindings()
                batch = self._take_batch()
                self.metrics.queue_depth.set(self._waiting())
                if not batch:
                    self._last_progress = time.monotonic()
                    if self._stopping.is_set():
                        return
                    continue
                self._busy = True
                try:
                    self._store_until_done(batch)
                except _GiveUpError:
                    logger.error("stopping with %d messages unstored; the broker will redeliver",  # noqa: TRY400
                                 len(batch))
                    return
                self._busy = False
                self._last_progress = time.monotonic()
        except BaseException as exc:
            # A dead writer stores nothing: say so loudly; the process supervisor exits non-zero.
            self.writer_error = f"{type(exc).__name__}: {exc}"
            logger.critical("ingest %s: the writer thread died: %s", self.settings.ingest_id, self.writer_error,
                            exc_info=True)
            raise

    def _store_until_done(self, batch: list[Inbound]) -> None:
        events: list[contract.Event] = []
        rejected: list[Rejected] = []
        for _mid, _qos, _gen, item in batch:
            if isinstance(item, contract.Event):
                events.append(item)
            elif isinstance(item, Rejected):
                rejected.append(item)
        started = time.perf_counter()
        results = self._store_splitting(events, rejected)
        self.metrics.commit_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(batch))
        for result in results:
            self.metrics.stored.inc(result.stored)
            self.metrics.duplicates.inc(result.duplicates)
            self.metrics.dead_lettered.inc(result.dead_lettered)
            if self._on_commit:
                self._on_commit(result)
        generation = self.link.generation
        # After a reconnect the broker redelivers unacked messages with new ids;
        # an ack with an old id could hit a different message, so skip it.
        self.link.ack_many([mid for mid, qos, gen, _item in batch if gen == generation and qos > 0])

    def _store_splitting(self, events: list[contract.Event], rejected: list[Rejected]) -> list[WriteResult]:
        """Store the batch; if its content is refused, halve it until the refused rows are found.

        A refused single event becomes a dead letter with the database's reason, so one
        poison row never holds up the others nor loops for ever.
        """
        try:
            return [self._write_retrying(events, rejected)]
        except BatchRejectedError as exc:
            if len(events) <= 1:
                dead = [Rejected(e.topic, e.raw_json.encode(), f"could not be stored: {exc}", e.received_at)
                        for e in events]
                logger.error("ingest %s: dead-lettering an event the database refused: %s",  # noqa: TRY400
                             self.settings.ingest_id, exc)
                return [self._write_retrying([], [*rejected, *dead])]
            half = len(events) // 2
            return [*self._store_splitting(events[:half], rejected), *self._store_splitting(events[half:], [])]

    def _write_retrying(self, events: list[contract.Event], rejected: list[Rejected]) -> WriteResult:
        """Write one batch, waiting out a database outage (the broker keeps the messages)."""
        delay = 0.2
        while True:
            try:
                result = self._writer.write(events, rejected)
            except DatabaseUnavailableError as exc:
                if self.db_ok:
                    logger.error("ingest %s: database unavailable, holding %d messages: %s",  # noqa: TRY400
                                 self.settings.ingest_id, len(events) + len(rejected), exc)
                    self.db_ok = False
                    self.metrics.db_connected.set(0)
                if self._stopping.is_set() and delay >= 5:
                    raise _GiveUpError from exc
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            break
        if not self.db_ok:
            logger.info("ingest %s: database available again", self.settings.ingest_id)
            self.db_ok = True
            self.metrics.db_connected.set(1)
        return result
