"""Inspections, hazards and rectification against the real database: a failed item opens a hazard
with its deadline, only the inspected department's head signs, only the owner department reports the
fix, security verifies or rejects it, a hazard past its deadline (event time) raises a supervisory
alarm that goes to notifications and returns when fixed, and the journal is append-only.
"""

import secrets
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from ingest.accounts import add_user
from ingest.alarms.actions import ActionRefusedError
from ingest.alarms.engine import AlarmEngine
from ingest.alarms.messages import Text
from ingest.alarms.types import Raise, SensorInfo
from ingest.core.site import Site
from ingest.db.registry import load_site as load_into_db
from ingest.safety import hazards, inspections
from ingest.safety.inspections import SafetyTicker

HOURS = timedelta(hours=1)


@pytest.fixture(scope="module")
def campus(db_url):
    tag = secrets.token_hex(3)
    site = Site.model_validate({
        "name": "t", "departments": [{"id": f"chem{tag}", "name": "Chemistry"}, {"id": f"lib{tag}", "name": "Lib"}],
        "buildings": [{"id": f"b{tag}", "name": "Labs", "use": "lab", "department": f"chem{tag}", "floors": 1,
                       "outline": [[0, 0], [1, 0], [1, 1]],
                       "rooms": [{"id": f"r{tag}", "name": "Lab 1", "use": "lab",
                                  "sensors": [{"kind": "lab", "id": f"hood{tag}",
                                               "metrics": ["face_velocity_mps"]}]}]}],
        "inspections": [{"id": f"ext{tag}", "name": "Extinguishers", "frequency": "monthly",
                         "checklist": "extinguishers", "department": f"chem{tag}", "building": f"b{tag}"}],
    })
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, site)
        for user, role, dep, head in ((f"insp{tag}", "officer", None, False),
                                      (f"head{tag}", "viewer", f"chem{tag}", True),
                                      (f"staff{tag}", "viewer", f"chem{tag}", False),
                                      (f"libhead{tag}", "viewer", f"lib{tag}", True)):
            add_user(conn, user, "password-1234", role)
            conn.execute("UPDATE users SET department_id = %s, department_head = %s WHERE username = %s",
                         (dep, head, user))
    return tag


def test_an_inspection_opens_hazards_and_only_the_departments_head_signs(db_url, campus):
    tag = campus
    ok = {"pressure": {"ok": True}, "seal": {"ok": True}, "service": {"ok": True}, "signs": {"ok": True}}
    with psycopg.connect(db_url) as conn:
        with pytest.raises(ActionRefusedError, match="tick every item"):
            inspections.submit(conn, f"ext{tag}", f"insp{tag}", {"pressure": {"ok": True}})
        with pytest.raises(ActionRefusedError, match="say what is wrong"):
            inspections.submit(conn, f"ext{tag}", f"insp{tag}", ok | {"pressure": {"ok": False}})
        before = datetime.now(UTC)
        inspection, opened = inspections.submit(
            conn, f"ext{tag}", f"insp{tag}", ok | {"pressure": {"ok": False, "note": "needle in the red, floor 1"},
                                                    "signs": {"ok": False, "note": "sign missing"}}, floor=0)
        assert len(opened) == 2
        with pytest.raises(ActionRefusedError, match="only the head of the inspected department"):
            inspections.sign(conn, inspection, f"libhead{tag}")  # another department's head
        with pytest.raises(ActionRefusedError, match="only the head of the inspected department"):
            inspections.sign(conn, inspection, f"staff{tag}")  # of the department, not its head
        inspections.sign(conn, inspection, f"head{tag}")
        with pytest.raises(ActionRefusedError, match="already signed"):
            inspections.sign(conn, inspection, f"head{tag}")
        rows = conn.cursor(row_factory=dict_row).execute(
            "SELECT id, category, severity, deadline, department_id, source FROM hazards WHERE id = ANY(%s) "
            "ORDER BY id",
            (opened,)).fetchall()
    fire, sign = rows
    assert (fire["category"], fire["severity"], fire["source"]) == ("fire_system", "major", "inspection")
    assert timedelta(hours=23.9) < fire["deadline"] - before < timedelta(hours=24.1)  # a fire-system fault: 24 h
    assert (sign["category"], sign["severity"]) == ("other", "general")
    assert timedelta(days=6.9) < sign["deadline"] - before < timedelta(days=7.1)
    assert {r["department_id"] for r in rows} == {f"chem{tag}"}


def test_a_hazard_from_fix_to_verified_closure_and_past_its_deadline(db_url, campus):
    tag = campus
    engine = AlarmEngine()
    safety = SafetyTicker(engine, None)
    t0 = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        # an alarm on the fume hood; the officer reports what they saw behind it
        with conn.transaction():
            changes = []
            engine.apply(conn, SensorInfo(f"hood{tag}", "lab", f"b{tag}"),
                         [Raise("hood_low", "lab", "high", "alarm", Text("limit_low", {}), t0)], False, changes)
            engine.finish(conn, changes)
        hid = hazards.from_alarm(conn, changes[0].alarm["id"], f"insp{tag}", "Fume hood sash broken")
        assert hazards.from_alarm(conn, changes[0].alarm["id"], f"insp{tag}") is None  # one per alarm
        h = conn.cursor(row_factory=dict_row).execute("SELECT * FROM hazards WHERE id = %s", (hid,)).fetchone()
        assert (h["department_id"], h["room_id"], h["sensor_id"], h["source"]) == (
            f"chem{tag}", f"r{tag}", f"hood{tag}", "alarm")
        # the deadline passes (event time): a supervisory alarm, notified, once
        later = (h["deadline"] + HOURS).timestamp()
        assert safety.tick(conn, now=later) >= 1
        assert safety.tick(conn, now=later) == 0
        alarm = conn.cursor(row_factory=dict_row).execute(
            "SELECT * FROM alarms WHERE condition = %s", (f"hazard_overdue:{hid}",)).fetchone()
        assert (alarm["priority"], alarm["signal_class"], alarm["sensor_id"], alarm["state"]) == (
            "medium", "supervisory", f"hood{tag}", "active_unacked")
        assert conn.execute("SELECT count(*) FROM notify_outbox WHERE alarm_id = %s", (alarm["id"],)).fetchone()[0] == 1
        # only the owner department reports the fix, with evidence
        with pytest.raises(ActionRefusedError, match="only its department"):
            hazards.fix(conn, hid, f"libhead{tag}", "done")
        with pytest.raises(ActionRefusedError, match="say what was done"):
            hazards.fix(conn, hid, f"staff{tag}", " ")
        with pytest.raises(ActionRefusedError, match="JPEG or PNG"):
            hazards.fix(conn, hid, f"staff{tag}", "replaced", photo=b"GIF89a")
        hazards.fix(conn, hid, f"staff{tag}", "sash cable replaced", photo=b"\xff\xd8\xff" + b"0" * 100, engine=engine)
        back = conn.execute("SELECT active, state FROM alarms WHERE id = %s", (alarm["id"],)).fetchone()
        assert back == (False, "rtn_unacked")
        # security rejects the first fix (a reason needed), accepts the second
        with pytest.raises(ActionRefusedError, match="say why"):
            hazards.verify(conn, hid, f"insp{tag}", False)
        assert hazards.verify(conn, hid, f"insp{tag}", False, "still loose") == "open"
        hazards.fix(conn, hid, f"head{tag}", "cable and pulley replaced")
        assert hazards.verify(conn, hid, f"insp{tag}", True, "checked on site") == "closed"
        with pytest.raises(ActionRefusedError, match="no fix to verify"):
            hazards.verify(conn, hid, f"insp{tag}", True)
        journal = [r[0] for r in conn.execute("SELECT action FROM hazard_journal WHERE hazard_id = %s ORDER BY id",
                                              (hid,))]
        assert journal == ["reported", "overdue", "fixed", "rejected", "fixed", "verified"]
        with pytest.raises(psycopg.Error), conn.transaction():
            conn.execute("DELETE FROM hazard_journal WHERE hazard_id = %s", (hid,))


def test_a_fume_hood_low_three_times_in_a_week_becomes_a_hazard_once(db_url, campus):
    tag = campus
    engine = AlarmEngine()
    safety = SafetyTicker(engine, None)
    with psycopg.connect(db_url) as conn:
        hood = SensorInfo(f"hood{tag}", "lab", f"b{tag}")
        for days in (5, 3):  # two more low-flow alarms this week (the first is the earlier test's)
            with conn.transaction():
                conn.execute("UPDATE alarms SET state = 'closed', active = false WHERE sensor_id = %s "
                             "AND state <> 'closed'", (f"hood{tag}",))
                changes = []
                at = datetime.now(UTC) - timedelta(days=days)
                engine.apply(conn, hood, [Raise("hood_low", "lab", "high", "alarm", Text("limit_low", {}), at)],
                             False, changes)
                conn.execute("UPDATE alarms SET state = 'closed', active = false WHERE id = %s",
                             (changes[0].alarm["id"],))
        safety.tick(conn, now=datetime.now(UTC).timestamp())
        safety.tick(conn, now=datetime.now(UTC).timestamp())
        rows = conn.execute("SELECT source, severity, category FROM hazards WHERE source_ref = %s",
                            (f"hood_low:hood{tag}",)).fetchall()
    assert rows == [("rule", "major", "chemical")]
