"""Kill every process of a running system, start it again: alarm state, shelves and journal survive."""

import os
import re
import signal

import psutil
import psycopg
from psycopg.rows import dict_row

from ingest.alarms import actions
from tests.conftest import wait_until
from tests.integration.helpers import alarms_for, now_ts, publish_all, publisher, run_banner, start_run

SHELVE_MIN = 0.5


def _kill_everything(run: psutil.Process, pgdata) -> list[str]:
    """kill -9 the runner, its children (ingest, dashboard, simulator, broker) and the database server."""
    victims = [run, *run.children(recursive=True)]
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    victims.append(psutil.Process(postmaster))
    names = [" ".join(p.cmdline()[:4]) for p in victims]
    for p in victims:
        p.send_signal(signal.SIGKILL)
    psutil.wait_procs(victims, timeout=20)
    return names


def _journal(db_url, alarm_id):
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM alarm_journal WHERE alarm_id = %s ORDER BY id", (alarm_id,)).fetchall()


def test_the_whole_system_killed_and_restarted_keeps_alarm_state_timed_shelves_and_the_journal(tmp_path):
    log1 = tmp_path / "run1.log"
    with log1.open("wb") as log:
        proc = start_run(tmp_path, log)
    proc2 = None
    try:
        _, db_url = wait_until(lambda: run_banner(log1), 90, 0.3, what="the run banner")
        broker = re.search(r"broker\s+(mqtt://\S+)", log1.read_text()).group(1)
        with psycopg.connect(db_url) as conn:
            sensor, building = conn.execute("SELECT id, building_id FROM sensors WHERE kind = 'door' "
                                            "ORDER BY id LIMIT 1").fetchone()
        with publisher(broker) as pub:
            publish_all(pub, [(f"campus/v1/{building}/door/{sensor}",
                               {"event_id": "recovery-1", "ts": now_ts(), "event": "tamper"})])
        alarm = wait_until(lambda: next((a for a in alarms_for(db_url, sensor) if a["condition"] == "tamper"), None),
                           20, what="the tamper alarm")
        with psycopg.connect(db_url) as conn:
            actions.acknowledge(conn, alarm["id"], "officer", "going")
            actions.shelve(conn, alarm["id"], "officer", SHELVE_MIN, "contractor working on the reader")
        before = next(a for a in alarms_for(db_url, sensor) if a["id"] == alarm["id"])
        journal = _journal(db_url, alarm["id"])
        assert [j["action"] for j in journal][-2:] == ["acknowledged", "shelved"]

        killed = _kill_everything(psutil.Process(proc.pid), tmp_path / "data" / "pg" / "data")
        assert any("ingest" in k for k in killed) and any("postgres" in k for k in killed), killed

        log2 = tmp_path / "run2.log"
        with log2.open("wb") as log:
            proc2 = start_run(tmp_path, log)
        _, db_url = wait_until(lambda: run_banner(log2), 90, 0.3, what="the banner after the restart")
        # Same ports as before, so gateways and bookmarks keep working.
        assert re.search(r"broker\s+(mqtt://\S+)", log2.read_text()).group(1) == broker
        after = next(a for a in alarms_for(db_url, sensor) if a["id"] == alarm["id"])
        assert after == before  # acknowledged, shelved until the same moment, by the same officer
        assert after["shelved_until"] is not None and after["acked_by"] == "officer"
        assert _journal(db_url, alarm["id"])[:len(journal)] == journal  # intact
        # The shelve is still timed: the restarted system ends it when it is due, not before.
        expired = wait_until(lambda: [j for j in _journal(db_url, alarm["id"]) if j["action"] == "shelve expired"],
                             SHELVE_MIN * 60 + 30, 0.5, what="the shelve to expire after the restart")
        assert expired[0]["at"] >= before["shelved_until"]
        assert next(a for a in alarms_for(db_url, sensor) if a["id"] == alarm["id"])["shelved_until"] is None
    finally:
        for p in (proc, proc2):
            if p and p.poll() is None:
                os.killpg(p.pid, signal.SIGINT)
                p.wait(60)
