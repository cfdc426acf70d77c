"""PostgreSQL stops for 30 s mid-stream: ingest holds on, reports degraded, loses nothing."""

import secrets
import time

import pytest

from ingest.app.embedded import EmbeddedPostgres
from ingest.db.migrate import migrate
from tests.conftest import wait_until
from tests.integration.conftest import broker_url
from tests.integration.helpers import IngestProcess, scalar, stream

OUTAGE_S = 30


@pytest.fixture(scope="module")
def own_pg(tmp_path_factory):
    """A PostgreSQL server of our own, which this test may stop and start."""
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg"), preferred_port=0)
    url = pg.start()
    migrate(url)
    try:
        yield pg, url
    finally:
        pg.stop(quiet=True)


def test_database_outage_of_30_seconds_loses_nothing(own_pg, own_broker, tmp_path):
    pg, db_url = own_pg
    building, n = f"o{secrets.token_hex(3)}", 20_000
    ingest = IngestProcess(db_url, broker_url(own_broker), f"outage-{building}", "outage", tmp_path).start()
    try:
        thread, result = stream(broker_url(own_broker), building, n)
        count = lambda: scalar(db_url, "SELECT count(*) FROM events WHERE building_id = %s", (building,))  # noqa: E731
        wait_until(lambda: count() >= 2_000, 60, 0.05, what="part of the stream stored")
        pg.stop()
        stopped_at = time.monotonic()
        health = wait_until(lambda: (h := ingest.health()).get("status") == "degraded" and h, 20, 0.2,
                            what="ingest to report itself degraded")
        assert health["database"] == "unavailable" and health["broker"] == "connected"
        thread.join(120)  # the broker takes the whole stream while the database is away
        assert result["error"] is None and result["published"] == n
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at)))
        assert ingest.proc.poll() is None, "ingest crashed during the outage"
        assert ingest.health()["status"] == "degraded"
        pg.start()
        wait_until(lambda: count() >= n, 120, 0.5, what="the whole stream stored after the outage")
        wait_until(lambda: ingest.health().get("status") == "ok", 20, what="ingest healthy again")
    finally:
        assert ingest.stop() == 0
    assert scalar(db_url, "SELECT count(DISTINCT event_id) FROM events WHERE building_id = %s", (building,)) == n
    log = ingest.log.read_text()
    assert "database unavailable" in log and "database available again" in log
    assert log.count("database unavailable") == 1  # one line per state change, not per retry
