"""Walk tests through the real broker and database: devices in test raise test alarms that never
escalate or notify and stay out of statistics, each device is marked passed or not signalled, the
test ends by itself, and a real alarm outside the tested set is raised as always.
"""

import secrets
import time
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import dict_row

from ingest.alarms import walktest
from ingest.alarms.actions import ActionRefusedError
from ingest.alarms.engine import AlarmEngine
from ingest.core.site import Site
from ingest.db.registry import load_site as load_into_db
from tests.conftest import wait_until
from tests.integration.helpers import alarms_for, now_ts, publish_all, publisher, running_ingest_with_alarms


@pytest.fixture(scope="module")
def campus(db_url):
    tag = secrets.token_hex(3)
    site = Site.model_validate({
        "name": "t", "departments": [{"id": "d", "name": "D"}],
        "buildings": [{"id": f"b{tag}", "name": "B", "use": "lab", "department": "d", "floors": 2,
                       "outline": [[0, 0], [1, 0], [1, 1]],
                       "rooms": [{"id": f"r{tag}", "name": "Hall", "use": "hall", "floor": 1, "zone": f"z{tag}",
                                  "sensors": [{"kind": "smoke", "count": 3}]},
                                 {"id": f"o{tag}", "name": "Office", "use": "office", "floor": 0,
                                  "sensors": [{"kind": "smoke", "count": 1}]}]}]})
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, site)
    return tag


def smoke(tag, room, n, state):
    return (f"campus/v1/b{tag}/smoke/{room}{tag}-smoke-{n}",
            {"event_id": secrets.token_hex(5), "ts": now_ts(), "state": state})


def test_a_walk_test_marks_its_alarms_tells_nobody_and_ends_by_itself(db_url, mqtt_url, make_settings, campus):
    tag = campus
    with psycopg.connect(db_url) as conn:
        with pytest.raises(ActionRefusedError, match="needs a reason"):
            walktest.start(conn, {"zone": f"z{tag}"}, 30, " ", "officer")
        with pytest.raises(ActionRefusedError, match="no device"):
            walktest.start(conn, {"zone": "nowhere"}, 30, "quarterly test", "officer")
        session = walktest.start(conn, {"zone": f"z{tag}"}, 30, "quarterly detector test", "officer")
        with pytest.raises(ActionRefusedError, match="already in a walk test"):
            walktest.start(conn, {"sensors": [f"r{tag}-smoke-1"]}, 30, "again", "officer")
        outbox_before = conn.execute("SELECT count(*) FROM notify_outbox").fetchone()[0]
    # escalation after 1 s for critical alarms: a real fire would escalate at once, a test one never
    with running_ingest_with_alarms(make_settings(escalate_critical_s=1, escalate_high_s=1)), \
            publisher(mqtt_url) as pub:
        time.sleep(1.5)  # the engine's two-second cache of devices in test
        publish_all(pub, [smoke(tag, "r", 1, "alarm"), smoke(tag, "r", 2, "pre_alarm"),
                          smoke(tag, "o", 1, "alarm")])  # the office is not in the test
        real = wait_until(lambda: (alarms_for(db_url, f"o{tag}-smoke-1") or [None])[0], 15, what="the real fire")
        test1 = wait_until(lambda: (alarms_for(db_url, f"r{tag}-smoke-1") or [None])[0], 15, what="a test alarm")
        wait_until(lambda: alarms_for(db_url, f"o{tag}-smoke-1")[0]["escalated_at"] is not None, 15,
                   what="the real fire escalated")
        time.sleep(2.5)  # well past the escalation limit for the test alarm too
        test1 = alarms_for(db_url, f"r{tag}-smoke-1")[0]
        assert real["test_session"] is None and not real["drill"]
        assert test1["test_session"] == session and test1["drill"] and test1["escalated_at"] is None
        with psycopg.connect(db_url, row_factory=dict_row) as conn:
            told = conn.execute("SELECT alarm_id FROM notify_outbox ORDER BY id OFFSET %s", (outbox_before,)).fetchall()
            results = {r["sensor_id"]: r for r in conn.execute(
                "SELECT sensor_id, signalled_at, result FROM test_devices WHERE session_id = %s", (session,))}
        assert {r["alarm_id"] for r in told} == {real["id"]}  # only the real fire goes to notifications
        assert results[f"r{tag}-smoke-1"]["result"] == "passed" and results[f"r{tag}-smoke-2"]["result"] == "passed"
        assert results[f"r{tag}-smoke-3"]["result"] is None  # not yet: the test is still on
        # The technician resets detector 2; detector 1 still signals fire when the test ends.
        publish_all(pub, [smoke(tag, "r", 2, "normal")])
        wait_until(lambda: not alarms_for(db_url, f"r{tag}-smoke-2")[0]["active"], 15, what="detector 2 back")
        # The test's time is up (as if 30 minutes passed): the tick ends it.
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE test_sessions SET ends_at = now() - interval '1 second', "
                         "started_at = now() - interval '30 minutes' WHERE id = %s", (session,))
        wait_until(lambda: psycopg.connect(db_url).execute(
            "SELECT ended_at FROM test_sessions WHERE id = %s", (session,)).fetchone()[0] is not None, 15,
            what="the walk test to end by itself")
        # A fire after the test from the same detector is real.
        publish_all(pub, [smoke(tag, "r", 3, "alarm")])
        after = wait_until(lambda: (alarms_for(db_url, f"r{tag}-smoke-3") or [None])[0], 15, what="a real fire")
    assert after["test_session"] is None and not after["drill"]
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        results = {r["sensor_id"]: r["result"] for r in conn.execute(
            "SELECT sensor_id, result FROM test_devices WHERE session_id = %s", (session,))}
        closed = conn.execute("SELECT state, disposition, closed_by FROM alarms WHERE test_session = %s",
                              (session,)).fetchall()
        tested = conn.execute("SELECT id, last_tested_at FROM sensors WHERE id LIKE %s ORDER BY id",
                              (f"r{tag}-%",)).fetchall()
        weekly = conn.execute("SELECT count(*) AS n FROM alarm_activations WHERE source LIKE %s",
                              (f"r{tag}-%",)).fetchone()
    assert results == {f"r{tag}-smoke-1": "passed", f"r{tag}-smoke-2": "passed", f"r{tag}-smoke-3": "not_signalled"}
    assert closed == [{"state": "closed", "disposition": "test", "closed_by": "system"}]  # detector 2's
    # Detector 1 still signalled fire when the test ended: never held back, it is a real alarm now, and told.
    still = alarms_for(db_url, f"r{tag}-smoke-1")[0]
    assert (still["test_session"], still["drill"], still["state"], still["condition"]) == (
        None, False, "active_unacked", "fire")
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM notify_outbox WHERE alarm_id = %s AND action = 'raised'",
                            (still["id"],)).fetchone()[0] == 1
    assert [t["last_tested_at"] is not None for t in tested] == [True, True, False]
    assert weekly["n"] == 2  # detector 1 once it was real, and detector 3's fire after the test; no test alarm


def test_an_officer_ends_a_walk_test_early(db_url, campus):
    tag = campus
    with psycopg.connect(db_url) as conn:
        session = walktest.start(conn, {"building": f"b{tag}", "floor": 0}, 10, "one office", "officer")
        assert walktest.end(conn, session, "officer") == 0
        assert walktest.end(conn, session, "officer") == 0  # twice is harmless
        row = conn.execute("SELECT ended_by, ended_at <= now() FROM test_sessions WHERE id = %s", (session,)).fetchone()
        assert row == ("officer", True)
        assert AlarmEngine().tests.windows(conn, {f"o{tag}-smoke-1"}) == {}
        with pytest.raises(ActionRefusedError, match="lasts"):
            walktest.start(conn, {"building": f"b{tag}", "floor": 0}, 9 * 60, "too long", "officer")
    assert datetime.now(UTC)
