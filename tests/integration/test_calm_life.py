"""Normal campus life raises no alarm: ten simulated hours of the demo campus, closing time and guard rounds included.

The simulator's stream goes through the ingest contract, the batch writer and the alarm engine
(rules in each batch transaction, timers ticked at the event-time watermark after each batch),
as fast as the database takes it. A monitor that cries wolf in normal life is worse than none.
"""

import itertools
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from ingest.alarms.engine import AlarmEngine
from ingest.core.sitefile import load_site
from ingest.db.pool import open_pool
from ingest.db.registry import load_site as load_into_db
from ingest.mqtt import contract
from ingest.patrol.engine import PatrolEngine
from ingest.service.writer import BatchWriter
from sensors_sim.life import CampusLife

logger = logging.getLogger(__name__)
HOURS = 10
BATCH = 2000


def test_ten_hours_of_normal_life_raise_no_alarm(db_url):
    site = load_site(None)  # the demo campus: cold store, server room, restricted labs and stores
    tz = ZoneInfo(site.timezone)
    # 14:00 to midnight yesterday, campus time: the afternoon, class changes, closing at 22:00, the night.
    start = (datetime.now(tz) - timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, site)
        # the guard-tour routes as if loaded before the day began: every round of those hours is planned
        conn.execute("UPDATE patrol_routes SET active_since = %s", (start,))
    end = start + timedelta(hours=HOURS)
    life = itertools.takewhile(lambda m: m.ts < end, CampusLife(site, 20261201, start.astimezone(UTC)))
    engine = AlarmEngine(timezone=site.timezone)
    patrols = PatrolEngine(engine)
    pool = open_pool(db_url, max_size=2, name="calm-life")
    stored = 0
    try:
        writer = BatchWriter(pool, "calm", [engine.on_batch, patrols.on_batch])
        while batch := list(itertools.islice(life, BATCH)):
            received = datetime.now(UTC)
            events = [contract.decode(m.topic, m.body(), received) for m in batch]
            stored += writer.write(events, []).stored
            with pool.connection() as conn:
                engine.tick(conn, now=batch[-1].ts.timestamp())
                patrols.tick(conn, now=batch[-1].ts.timestamp())
    finally:
        pool.close()
    with psycopg.connect(db_url) as conn:
        alarms = Counter(f"{c} on {s}" for c, s in conn.execute("SELECT condition, sensor_id FROM alarms"))
        dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        tours = dict(conn.execute("SELECT state, count(*) FROM tours WHERE due_at + interval '1 hour' < %s "
                                  "GROUP BY state", (end,)).fetchall())
    logger.info("calm life: %d events over %d simulated hours, %d alarms", stored, HOURS, sum(alarms.values()))
    assert stored > 300_000 and dead == 0
    assert not alarms, f"normal life raised alarms: {alarms.most_common(10)}"
    # 14:00-23:00: day rounds at 14, 16, 18; lab rounds at 21 (and 23, still open at the end); a dorm round at 22
    assert tours == {"completed": 5}, tours
