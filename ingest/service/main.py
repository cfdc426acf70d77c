"""Run one ingestor process: pool, ingest service, health server, periodic pruning."""

from __future__ import annotations

import gc
import logging
import threading
import time
from datetime import timedelta

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ingest.alarms.engine import AlarmEngine, Ticker, load_procedures
from ingest.alarms.outbound import AlarmPublisher
from ingest.core.errors import SafeCampusError
from ingest.core.settings import Settings
from ingest.db import queries as q
from ingest.db import rollups
from ingest.db.migrate import current_version, load_migrations, recorded_mode
from ingest.db.policies import prune
from ingest.db.pool import connect, open_pool
from ingest.notify.config import load as load_notify_config
from ingest.notify.maintainer import Notifier
from ingest.patrol.engine import PatrolEngine, PatrolTicker
from ingest.safety.inspections import SafetyTicker
from ingest.service.health import HealthServer
from ingest.service.maintainer import IngestService

logger = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600
ROLLUP_EVERY_S = 5.0
COMPLAIN_EVERY_S = 600.0
# Container objects allocated, net of those freed, between young-generation collections (Python's
# default: 700). A drain keeps its in-flight window (up to 20,000 messages, a few objects each)
# alive: at 10,000 every young collection walked them, 40 young and 3 middle ones per 100,000
# events (80-100 ms, 0.8-1 us an event); at 100,000 none while draining. Cycles are still
# collected, after at most this many objects more.
GC_GEN0_THRESHOLD = 100_000


def check_schema(db_url: str) -> str:
    """The database mode; an error unless the schema is fully migrated."""
    with connect(db_url) as conn:
        version = current_version(conn)
        latest = len(load_migrations())
        if version < latest:
            raise SafeCampusError(
                f"database schema is at version {version}, this release needs {latest}: "
                "run 'safecampus db migrate' first"
            )
        return recorded_mode(conn) or "postgresql"


def refresh_rollups(pool: ConnectionPool, mode: str, settings: Settings, complaints: dict[str, float]) -> None:
    """One round of the rollup refresh; a failure is retried next round and said at most every 10 minutes."""
    try:
        with pool.connection() as conn:
            rollups.refresh(conn, mode, timedelta(days=settings.retention_days))
    except psycopg.OperationalError:
        logger.debug("rollup refresh: database unavailable", exc_info=True)  # the writer says so already
    except Exception as exc:  # noqa: BLE001 - a refresh must never stop ingest; its buckets stay claimed
        text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        if time.monotonic() - complaints.get(text, -1e9) >= COMPLAIN_EVERY_S:
            complaints[text] = time.monotonic()
            hint = (" (on TimescaleDB only the rollups' owner may refresh them: run 'safecampus db migrate')"
                    if isinstance(exc, psycopg.errors.InsufficientPrivilege) else "")
            logger.exception("rollup refresh failed, late data waits for the next round: %s%s", text, hint)


def run_ingest(settings: Settings, stop: threading.Event) -> int:
    """Run until ``stop`` is set; return the exit code."""
    db_url = settings.require_db_url()
    notify_config = load_notify_config(settings.notify_file) if settings.notify_file else None
    if notify_config is not None:
        missing = notify_config.missing_secrets()
        if missing:
            raise SafeCampusError(f"{settings.notify_file}: secrets not in the environment: {', '.join(missing)}")
    mode = check_schema(db_url)
    pool = open_pool(db_url, min_size=1, max_size=4, name=f"ingest-{settings.ingest_id}")
    engine = AlarmEngine(escalation_s=settings.escalation_limits(), timezone=settings.site_timezone,
                         procedures=load_procedures(settings.procedures_file),
                         clock_tolerance_s=settings.ingest_clock_tolerance_s)
    patrols = PatrolEngine(engine)
    service = IngestService(settings, pool, hooks=[engine.on_batch, patrols.on_batch],
                            prepare=[engine.prepare_batch])
    publisher = AlarmPublisher(db_url, service.link, settings.site_language)
    ticker = Ticker(engine, pool)
    patrol_ticker = PatrolTicker(patrols, pool)
    safety_ticker = SafetyTicker(engine, pool)
    notifier = Notifier(db_url, notify_config, clock_tolerance_s=settings.ingest_clock_tolerance_s,
                        escalation_s=settings.escalation_limits(), metrics=service.metrics)

    def health_report() -> dict[str, object]:
        return service.health() | {"notify": notifier.state()}

    health = None
    if settings.ingest_health_port:
        health = HealthServer(settings.ingest_health_host, settings.ingest_health_port,
                              health_report, service.metrics.render)
        health.start()
    # Start-up's objects (modules, settings, the site) never become garbage: out of the collector's
    # sight. Events are freed by reference counting; a collection every 700 allocations walked the
    # thousands of queued messages for nothing (measured: 8.3 -> 6.1 us per decoded message).
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 10, 10)
    service.start()
    publisher.start()
    ticker.start()
    patrol_ticker.start()
    safety_ticker.start()
    notifier.start()
    logger.info("ingest %s running (%s mode)", settings.ingest_id, mode)
    next_prune = time.monotonic() + 60
    next_rollup = time.monotonic()
    complaints: dict[str, float] = {}
    code = 0
    try:
        while not stop.wait(1.0):
            if service.link.fatal_error:
                raise SafeCampusError(service.link.fatal_error)
            loops = (ticker, patrol_ticker, safety_ticker, publisher, notifier)
            dead = service.dead_threads() + [loop.name for loop in loops if loop.died()]
            if dead or service.writer_error:
                # A thread that died stores, times or publishes nothing: exit non-zero so that
                # `safecampus run`, compose or systemd start a whole new ingestor.
                logger.critical("ingest %s: %s died (%s); exiting so that it is restarted",
                                settings.ingest_id, ", ".join(dead) or "the writer", service.writer_error or "")
                code = 3
                break
            if time.monotonic() >= next_rollup:
                next_rollup = time.monotonic() + ROLLUP_EVERY_S
                refresh_rollups(pool, mode, settings, complaints)
                try:
                    with pool.connection() as conn:
                        conn.execute(q.REPORT_HEALTH, {"service": "ingest", "instance": settings.ingest_id,
                                                       "status": Jsonb(health_report())})
                except Exception:  # noqa: BLE001 - retried on the next round (the database may be down)
                    logger.debug("health report failed", exc_info=True)
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_EVERY_S
                try:
                    with pool.connection() as conn:
                        prune(conn, mode, settings)
                except Exception:  # noqa: BLE001 - pruning must never stop ingest
                    logger.exception("pruning old rows failed")
    finally:
        logger.info("ingest %s stopping", settings.ingest_id)
        ticker.stop()
        patrol_ticker.stop()
        safety_ticker.stop()
        notifier.stop()
        publisher.stop()
        service.stop()
        if health:
            health.stop()
        pool.close()
    return code
