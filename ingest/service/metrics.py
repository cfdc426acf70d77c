"""Prometheus metrics for one ingestor (its own registry, no global state)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _glibc_mallinfo2() -> Any:  # a ctypes function, or None
    """Glibc's mallinfo2 (2.33+), or None on other C libraries."""
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    return fn


_MALLINFO2 = _glibc_mallinfo2()


class IngestMetrics:
    """Counters and gauges exposed on /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("safecampus_ingest_received", "MQTT messages received", registry=r)
        self.stored = Counter("safecampus_ingest_stored", "Events stored", registry=r)
        self.duplicates = Counter("safecampus_ingest_duplicates", "Duplicate events dropped", registry=r)
        self.dead_lettered = Counter("safecampus_ingest_dead_lettered", "Messages dead-lettered", registry=r)
        self.clock_ahead = Counter("safecampus_ingest_clock_ahead",
                                   "Events whose device clock ran ahead of ours (timers used our time)", registry=r)
        self.adapter_ignored = Counter("safecampus_ingest_adapter_ignored",
                                       "Foreign messages that are no sensor data (bridge logs, commands, "
                                       "heartbeats of devices nobody placed)", registry=r)
        self.queue_depth = Gauge("safecampus_ingest_queue_depth", "Messages waiting to be written", registry=r)
        self.batch_size = Histogram(
            "safecampus_ingest_batch_size", "Messages per committed batch", registry=r,
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
        )
        self.commit_seconds = Histogram(
            "safecampus_ingest_commit_seconds", "Batch write and commit time", registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.broker_connected = Gauge("safecampus_ingest_broker_connected", "1 when connected", registry=r)
        self.db_connected = Gauge("safecampus_ingest_db_connected", "1 when the database accepts writes", registry=r)
        self.db_connected.set(1)
        # Memory, to tell a leak (objects or heap in use grow) from allocator high-water
        # marks (only the free memory the C heap keeps grows): read at each scrape.
        Gauge("safecampus_ingest_python_blocks", "Blocks held by Python's object allocator",
              registry=r).set_function(sys.getallocatedblocks)
        if _MALLINFO2 is not None:
            Gauge("safecampus_ingest_heap_in_use_bytes", "C heap in use (glibc malloc, all arenas)",
                  registry=r).set_function(lambda: _heap()[0])
            Gauge("safecampus_ingest_heap_free_bytes", "Free C heap memory malloc keeps for reuse",
                  registry=r).set_function(lambda: _heap()[1])

        self.notify_sent = Counter("safecampus_notify_sent", "Notification requests delivered", ["channel"], registry=r)
        self.notify_failed = Counter("safecampus_notify_failed", "Notification requests that failed", ["channel"],
                                     registry=r)
        self.notify_channel_up = Gauge("safecampus_notify_channel_up",
                                       "1 when a channel's latest attempt succeeded, 0 when it failed", ["channel"],
                                       registry=r)
        self.notify_pending = Gauge("safecampus_notify_pending", "Notifications waiting to be sent", registry=r)
        self.notify_given_up = Gauge("safecampus_notify_given_up_today", "Notifications given up in the last day",
                                     registry=r)

    def notify_attempt(self, channel: str, ok: bool) -> None:
        """Count one delivery attempt."""
        (self.notify_sent if ok else self.notify_failed).labels(channel).inc()
        self.notify_channel_up.labels(channel).set(1 if ok else 0)

    def notify_state(self, state: dict) -> None:
        """The notifier's periodic report (it sends; this process may not)."""
        for name, ch in state.get("channels", {}).items():
            self.notify_channel_up.labels(name).set(1 if ch["ok"] else 0)
        self.notify_pending.set(state.get("pending", 0))
        self.notify_given_up.set(state.get("failed_today", 0))

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)


def _heap() -> tuple[int, int]:
    """(bytes in use, free bytes kept) of the C heap, from glibc's mallinfo2."""
    info = _MALLINFO2()
    return info.uordblks + info.hblkhd, info.fordblks
