"""Prometheus metrics for one ingestor (its own registry, no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class IngestMetrics:
    """Counters and gauges exposed on /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("safecampus_ingest_received", "MQTT messages received", registry=r)
        self.stored = Counter("safecampus_ingest_stored", "Events stored", registry=r)
        self.duplicates = Counter("safecampus_ingest_duplicates", "Duplicate events dropped", registry=r)
        self.dead_lettered = Counter("safecampus_ingest_dead_lettered", "Messages dead-lettered", registry=r)
        self.queue_depth = Gauge("safecampus_ingest_queue_depth", "Messages waiting to be written", registry=r)
        self.batch_size = Histogram(
            "safecampus_ingest_batch_size", "Messages per committed batch", registry=r,
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000),
        )
        self.commit_seconds = Histogram(
            "safecampus_ingest_commit_seconds", "Batch write and commit time", registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.broker_connected = Gauge("safecampus_ingest_broker_connected", "1 when connected", registry=r)
        self.db_connected = Gauge("safecampus_ingest_db_connected", "1 when the database accepts writes", registry=r)
        self.db_connected.set(1)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
