"""Late data reaches every rollup within seconds, in both modes, with the same answers.

A LoRaWAN node, a battery detector or a gateway back after a network cut sends what it buffered:
events hours or days old, into buckets TimescaleDB has already materialised (before, they showed
only at the next policy run, or never when older than its window). The same on-time and late
feed goes through the real ``safecampus ingest`` (alarm engine on) into a database per mode the
test server offers (plain PostgreSQL always; TimescaleDB where it is preloaded), and each answer
is compared with the same aggregate computed from the raw rows, and between the modes: the
rollups, the trend queries the dashboard runs and the alarm-system health report.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from dashboard import queries as dq
from dashboard.report import health
from ingest.db.migrate import migrate
from ingest.db.rollups import bucket_of
from ingest.mqtt.contract import format_ts
from tests.conftest import temporary_database, wait_until
from tests.integration.helpers import IngestProcess, materialise, publish_all, publisher

# What each rollup must hold: the same aggregate computed from the raw rows, now.
TRUTH = {
    "readings_5m": (
        "SELECT date_bin('5 minutes', time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, sensor_id, metric,"
        " round(avg(value)::numeric, 9), min(value), max(value), count(*)"
        " FROM readings WHERE sensor_id LIKE %(like)s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        "SELECT bucket, sensor_id, metric, round(avg::numeric, 9), min, max, n"
        " FROM readings_5m WHERE sensor_id LIKE %(like)s ORDER BY 1, 2, 3",
    ),
    "readings_1h": (
        "SELECT date_bin('1 hour', time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, sensor_id, metric,"
        " round(avg(value)::numeric, 9), min(value), max(value), count(*)"
        " FROM readings WHERE sensor_id LIKE %(like)s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        "SELECT bucket, sensor_id, metric, round(avg::numeric, 9), min, max, n"
        " FROM readings_1h WHERE sensor_id LIKE %(like)s ORDER BY 1, 2, 3",
    ),
    "events_1h": (
        "SELECT date_bin('1 hour', time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, building_id, kind,"
        " coalesce(state, ''), count(*) FROM events WHERE building_id = %(building)s"
        " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        "SELECT bucket, building_id, kind, state, n FROM events_1h WHERE building_id = %(building)s"
        " ORDER BY 1, 2, 3, 4",
    ),
    "alarm_activity_10m": (
        "SELECT date_bin('10 minutes', at, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, count(*)"
        " FROM alarm_activations WHERE at >= %(since)s GROUP BY 1 ORDER BY 1",
        "SELECT bucket, n FROM alarm_activity_10m WHERE bucket >= %(since)s ORDER BY 1",
    ),
}
# Ages of the feed: inside the 5-minute policy window, past it (2 days), past the hourly one
# (7 days) and past the alarm-activity one (30 days).
AGES = (timedelta(minutes=20), timedelta(hours=2), timedelta(days=3), timedelta(days=10), timedelta(days=40))


def _feed(tag: str, now: datetime, round_: int) -> list[tuple[str, dict]]:
    building = f"late{tag}"
    out: list[tuple[str, dict]] = []
    for i, age in enumerate(AGES):
        base = bucket_of(now - age) + timedelta(seconds=30 + 100 * round_)  # round 1 lands in round 0's buckets
        for k in range(3):
            value = 20.0 + i + k * 0.25 + round_ * 1.5
            out.append((f"campus/v1/{building}/lab/late{tag}-lab-{k}",
                        {"event_id": f"l{round_}-{i}-{k}", "ts": format_ts(base + timedelta(seconds=17 * k)),
                         "readings": {"temperature_c": value}}))
        out.append((f"campus/v1/{building}/door/late{tag}-door-1",
                    {"event_id": f"d{round_}-{i}", "ts": format_ts(base + timedelta(seconds=5)),
                     "event": "access_granted"}))
    if round_ == 1:  # a detector back online with an alarm three hours old, and one that is on time
        out.append((f"campus/v1/{building}/smoke/late{tag}-smoke-1",
                    {"event_id": "s-late", "ts": format_ts(now - timedelta(hours=3)), "state": "alarm"}))
        out.append((f"campus/v1/{building}/smoke/late{tag}-smoke-2",
                    {"event_id": "s-now", "ts": format_ts(now), "state": "alarm"}))
    return out


def _answers(url: str, tag: str, now: datetime) -> dict[str, object]:
    """What the dashboard shows from the rollups: trends, event rates, heat map, alarm-system health."""
    building, since = f"late{tag}", now - timedelta(days=60)
    args = {"sensor": f"late{tag}-lab-0", "metric": "temperature_c", "since": since, "building": building,
            "tz": "Asia/Shanghai"}
    with psycopg.connect(url) as conn:
        out: dict[str, object] = {}
        for name in ("SERIES_SENSOR_5M", "SERIES_SENSOR_1H", "SERIES_BUILDING_5M", "SERIES_BUILDING_1H",
                     "EVENT_RATES", "DOOR_HEATMAP"):
            rows = conn.execute(getattr(dq, name), args).fetchall()
            out[name] = sorted(tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows)
        out["health"] = health.health(conn, now - timedelta(days=45), now + timedelta(minutes=10))
    return out


def _rollups(url: str, tag: str, now: datetime) -> dict[str, tuple[list, list]]:
    """Each rollup's rows, and the same aggregate computed from the raw rows."""
    args = {"like": f"late{tag}-%", "building": f"late{tag}", "since": now - timedelta(days=60)}
    with psycopg.connect(url) as conn:
        return {name: (conn.execute(truth, args).fetchall(), conn.execute(rollup, args).fetchall())
                for name, (truth, rollup) in TRUTH.items()}


@pytest.fixture
def databases(pg_admin_url, server_mode):
    """A database per mode the server offers, each migrated in that mode."""
    modes = ["postgresql"] + (["timescaledb"] if server_mode == "timescaledb" else [])
    with temporary_database(pg_admin_url, "sct_late_pg") as pg_url:
        dbs = {"postgresql": pg_url}
        assert migrate(pg_url, "postgresql")[0] == "postgresql"
        if "timescaledb" not in modes:
            yield dbs
            return
        with temporary_database(pg_admin_url, "sct_late_ts") as ts_url:
            assert migrate(ts_url, "timescaledb")[0] == "timescaledb"
            dbs["timescaledb"] = ts_url
            yield dbs


def test_late_data_reaches_every_rollup_within_seconds_with_the_same_answers(databases, mqtt_url, tmp_path):
    tag = secrets.token_hex(3)
    now = datetime.now(UTC).replace(microsecond=0)
    ingestors = [IngestProcess(url, mqtt_url, f"late-{mode[:2]}-{tag}", f"late-{mode[:2]}-{tag}", tmp_path).start()
                 for mode, url in databases.items()]
    try:
        for ingest in ingestors:
            wait_until(lambda i=ingest: i.health().get("subscribed"), 20, what=f"{ingest.ingest_id} to subscribe")
        history, late = _feed(tag, now, 0), _feed(tag, now, 1)
        with publisher(mqtt_url) as pub:
            publish_all(pub, history)
            for url in databases.values():
                wait_until(lambda u=url: _count(u, tag) == len(history), 20, what="the history stored")
            for mode, url in databases.items():
                materialise(url, mode)  # TimescaleDB: as if every policy had run over all time
            publish_all(pub, late)  # buffered for days, sent at once: every bucket is already materialised
        for mode, url in databases.items():
            wait_until(lambda u=url: _count(u, tag) == len(history) + len(late), 20, what="the late feed stored")
            wait_until(lambda u=url: all(t == r for t, r in _rollups(u, tag, now).values()), 20,
                       what=f"every rollup to match its raw rows ({mode})",
                       describe=lambda u=url: repr({k: (len(t), len(r)) for k, (t, r) in _rollups(u, tag, now).items()
                                                    if t != r}))
    finally:
        for ingest in ingestors:
            ingest.stop()
    results = {mode: (_rollups(url, tag, now), _answers(url, tag, now)) for mode, url in databases.items()}
    rollups_pg, answers_pg = results["postgresql"]
    # The feed really reached old buckets of every rollup, and the answers hold them.
    assert [r[-1] for r in rollups_pg["readings_5m"][1]] == [2] * 3 * len(AGES)  # both rounds in each bucket
    assert sum(r[1] for r in rollups_pg["alarm_activity_10m"][1]) >= 2  # the late and the on-time alarm
    assert answers_pg["health"].total >= 2
    assert len(answers_pg["SERIES_SENSOR_1H"]) == len(AGES)
    for mode, (rollups_, answers) in results.items():
        assert rollups_ == rollups_pg, mode
        assert answers == answers_pg, mode


def _count(url: str, tag: str) -> int:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        row = conn.execute("SELECT count(*) AS n FROM events WHERE building_id = %s", (f"late{tag}",)).fetchone()
    return int(row["n"]) if row else 0


def test_rollups_outlive_the_raw_rows_the_retention_drops_in_both_modes(databases):
    """Rollups are kept when raw rows age out (plain PostgreSQL prunes rows, TimescaleDB drops
    chunks). A TimescaleDB refresh over dropped chunks deletes the rollup rows: the policies'
    windows are held inside the retention period, which is checked by running the real jobs."""
    from ingest.core.settings import load_settings
    from ingest.db import rollups
    from ingest.db.policies import apply_policies, prune
    from ingest.db.pool import open_pool
    from ingest.mqtt.contract import decode
    from ingest.service.writer import BatchWriter

    now = datetime.now(UTC)
    ages = (timedelta(hours=1), timedelta(days=2, hours=12), timedelta(days=4), timedelta(days=10))
    msgs = [decode(f"campus/v1/keep/lab/keep-{k}",
                   json.dumps({"event_id": f"k{i}-{k}", "ts": format_ts(now - age),
                               "readings": {"temperature_c": 20 + i}}).encode(), now)
            for i, age in enumerate(ages) for k in range(2)]
    kept = {}
    for mode, url in databases.items():
        settings = load_settings(db_url=url, retention_days=3)
        pool = open_pool(url, max_size=1, name="test-retention")
        try:
            BatchWriter(pool, "test-retention").write(msgs, [])
        finally:
            pool.close()
        with psycopg.connect(url, autocommit=True) as conn:
            rollups.refresh(conn, mode, timedelta(days=400))
            materialise(url, mode)
            before = conn.execute("SELECT bucket, sensor_id, n FROM readings_1h WHERE sensor_id LIKE 'keep-%' "
                                  "ORDER BY 1, 2").fetchall()
            assert len(before) == 2 * len(ages)
            apply_policies(conn, mode, settings)
            if mode == "timescaledb":  # the retention job drops old chunks, then every refresh policy runs
                jobs = conn.execute("SELECT job_id, proc_name FROM timescaledb_information.jobs WHERE proc_name IN "
                                    "('policy_retention', 'policy_refresh_continuous_aggregate') "
                                    "ORDER BY proc_name <> 'policy_retention', job_id").fetchall()
                assert len(jobs) == 2 + len(rollups.AGGREGATES)
                for job_id, _ in jobs:
                    conn.execute("CALL run_job(%s)", (job_id,))
            else:
                assert prune(conn, mode, settings) > 0
            assert conn.execute("SELECT count(*) FROM readings WHERE sensor_id LIKE 'keep-%' "
                                "AND time < now() - interval '3 days'").fetchone()[0] == 0  # the raw rows are gone
            kept[mode] = conn.execute("SELECT bucket, sensor_id, n FROM readings_1h WHERE sensor_id LIKE 'keep-%' "
                                      "ORDER BY 1, 2").fetchall()
            assert kept[mode] == before, mode
    assert kept["postgresql"] == kept.get("timescaledb", kept["postgresql"])
