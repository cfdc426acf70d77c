"""The alarm engine through the real broker and database: each rule family and the lifecycle."""

import json
import secrets
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg.rows import dict_row

from ingest.alarms import actions
from ingest.alarms.actions import ActionRefusedError
from ingest.alarms.rules import DAYS
from ingest.core.site import Site
from ingest.db.registry import load_site as load_into_db
from tests.conftest import wait_until
from tests.integration.helpers import alarms_for, now_ts, publish_all, publisher, running_ingest_with_alarms


def _site(tag):
    _away = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(hours=12)
    return Site.model_validate(
        {
            "name": "t",
            "departments": [{"id": "d", "name": "D"}],
            "buildings": [
                {
                    "id": f"b{tag}",
                    "name": "B",
                    "use": "lab",
                    "department": "d",
                    "floors": 2,
                    "outline": [[0, 0], [1, 0], [1, 1]],
                    "rooms": [
                        {
                            "id": f"r{tag}",
                            "name": "Lab",
                            "use": "lab",
                            "floor": 1,
                            "sensors": [
                                {"kind": "smoke", "count": 3},
                                {
                                    "kind": "lab",
                                    "id": f"gas{tag}",
                                    "metrics": ["gas_ppm.NH3", "o2_pct"],
                                    "interval_s": 1,
                                },
                                {"kind": "door", "id": f"door{tag}", "thresholds": {"held_open_s": 2}},
                                {
                                    "kind": "door",
                                    "id": f"sdoor{tag}",
                                    "thresholds": {
                                        "suppress": [
                                            {
                                                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                                "start": "00:00",
                                                "end": "23:59:59",
                                            }
                                        ]
                                    },
                                },
                            ],
                        },
                        {
                            "id": f"x{tag}",
                            "name": "Store",
                            "use": "store",
                            "floor": 0,
                            # open one minute a day, twelve hours from now: every test access is after hours
                            "restricted": {"days": list(DAYS), "start": f"{_away:%H:%M}",
                                           "end": f"{_away + timedelta(minutes=1):%H:%M}"},
                            "sensors": [{"kind": "door", "id": f"xdoor{tag}"}],
                        },
                    ],
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def campus(db_url):
    tag = secrets.token_hex(3)
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, _site(tag))
    return tag


@pytest.fixture
def ingest(make_settings):
    with running_ingest_with_alarms(make_settings(escalate_critical_s=2)) as svc:
        yield svc


def send(mqtt_url, *messages):
    with publisher(mqtt_url) as pub:
        publish_all(pub, list(messages))


def one_alarm(db_url, sensor, condition, **where):
    def find():
        rows = [
            a
            for a in alarms_for(db_url, sensor)
            if a["condition"] == condition and all(a[k] == v for k, v in where.items())
        ]
        return rows[-1] if rows else None

    return wait_until(find, 10, 0.1, what=f"{condition} alarm on {sensor} with {where}")


def smoke(tag, n, state, ts=None, drill=False):
    sid = f"r{tag}-smoke-{n}"
    return (
        f"campus/v1/b{tag}/smoke/{sid}",
        {"event_id": secrets.token_hex(4), "ts": ts or now_ts(), "state": state, "drill": drill},
    )


def test_fire_alarm_is_latched_confirmed_by_a_second_detector_and_needs_a_reset(ingest, db_url, mqtt_url, campus):
    tag = campus
    send(mqtt_url, smoke(tag, 1, "pre_alarm"))
    pre = one_alarm(db_url, f"r{tag}-smoke-1", "smoke_pre_alarm")
    assert (pre["priority"], pre["signal_class"], pre["state"]) == ("high", "alarm", "active_unacked")
    send(mqtt_url, smoke(tag, 1, "alarm"))
    fire = one_alarm(db_url, f"r{tag}-smoke-1", "fire")
    assert (fire["priority"], fire["latched"], fire["confirmed"]) == ("critical", True, False)
    assert fire["procedure"][0]["step"].startswith("Confirm the alarm")
    send(mqtt_url, smoke(tag, 2, "alarm"))
    one_alarm(db_url, f"r{tag}-smoke-1", "fire", confirmed=True)
    one_alarm(db_url, f"r{tag}-smoke-2", "fire", confirmed=True)
    # Back to normal: still there, latched, until an officer resets it.
    send(mqtt_url, smoke(tag, 1, "normal"))
    fire = one_alarm(db_url, f"r{tag}-smoke-1", "fire", active=False)
    assert fire["state"] == "active_unacked"
    with psycopg.connect(db_url) as conn:
        actions.acknowledge(conn, fire["id"], "officer1", "on my way")
        actions.reset(conn, fire["id"], "officer1", "detector checked")
    closed = one_alarm(db_url, f"r{tag}-smoke-1", "fire", state="closed")
    assert closed["closed_by"] == "officer1"
    with psycopg.connect(db_url) as conn:
        journal = [
            r[0]
            for r in conn.execute("SELECT action FROM alarm_journal WHERE alarm_id = %s ORDER BY id", (fire["id"],))
        ]
    assert journal == ["raised", "confirmed", "cleared, awaiting reset", "acknowledged", "reset"]


def test_repeats_count_on_one_alarm_and_a_higher_priority_re_alarms(ingest, db_url, mqtt_url, campus):
    tag = campus
    gas = f"gas{tag}"
    topic = f"campus/v1/b{tag}/lab/{gas}"
    send(
        mqtt_url,
        *[(topic, {"event_id": f"g{i}", "ts": now_ts(i - 100), "readings": {"gas_ppm.NH3": 30}}) for i in range(8)],
    )
    first = one_alarm(db_url, gas, "gas_high:NH3")
    assert first["priority"] == "high"
    with psycopg.connect(db_url) as conn:
        actions.acknowledge(conn, first["id"], "officer1")
    send(mqtt_url, (topic, {"event_id": "g-hi", "ts": now_ts(-90), "readings": {"gas_ppm.NH3": 60}}))
    again = one_alarm(db_url, gas, "gas_high:NH3", priority="critical")
    assert again["id"] == first["id"] and again["state"] == "active_unacked"  # re-alarm
    assert len([a for a in alarms_for(db_url, gas) if a["condition"] == "gas_high:NH3"]) == 1
    # Clear for longer than the off-delay (30 s of event time): returns to normal, unacknowledged.
    # (All in the past: a device clock ahead of ours would not move the rules' time.)
    send(
        mqtt_url,
        *[(topic, {"event_id": f"c{i}", "ts": now_ts(-80 + i * 5), "readings": {"gas_ppm.NH3": 1}}) for i in range(8)],
    )
    rtn = one_alarm(db_url, gas, "gas_high:NH3", state="rtn_unacked")
    assert rtn["active"] is False


def test_door_rules_forced_held_open_after_hours_and_tamper(ingest, db_url, mqtt_url, campus):
    tag = campus
    door, xdoor = f"door{tag}", f"xdoor{tag}"
    t = f"campus/v1/b{tag}/door/"
    send(mqtt_url, (t + door, {"event_id": "f1", "ts": now_ts(), "event": "door_forced"}))
    assert one_alarm(db_url, door, "door_forced")["priority"] == "high"
    send(mqtt_url, (t + door, {"event_id": "c1", "ts": now_ts(), "event": "door_closed"}))
    one_alarm(db_url, door, "door_forced", state="rtn_unacked")
    send(mqtt_url, (t + door, {"event_id": "o2", "ts": now_ts(-10), "event": "door_opened"}))
    # Timers run on event time: another sensor's heartbeat 5 s later moves it past the 2 s limit.
    send(mqtt_url, (f"campus/v1/b{tag}/status/gas{tag}", {"event_id": secrets.token_hex(3), "ts": now_ts(-5)}))
    held = one_alarm(db_url, door, "held_open")  # raised by the timer, with no further door event
    assert held["priority"] == "medium"
    send(mqtt_url, (t + door, {"event_id": "c2", "ts": now_ts(), "event": "door_closed"}))
    one_alarm(db_url, door, "held_open", state="rtn_unacked")
    send(mqtt_url, (t + xdoor, {"event_id": "a1", "ts": now_ts(), "event": "access_granted", "credential": "card-1"}))
    assert one_alarm(db_url, xdoor, "after_hours")["priority"] == "high"
    send(mqtt_url, *[(t + xdoor, {"event_id": f"d{i}", "ts": now_ts(), "event": "access_denied"}) for i in range(5)])
    one_alarm(db_url, xdoor, "denied_burst")
    send(mqtt_url, (t + xdoor, {"event_id": "tt", "ts": now_ts(), "event": "tamper"}))
    assert one_alarm(db_url, xdoor, "tamper")["latched"]


def test_offline_sensor_raises_trouble_and_clears_when_it_reports(ingest, db_url, mqtt_url, campus):
    tag = campus
    gas = f"gas{tag}"  # reporting interval 1 s: offline after 3 s of silence
    send(mqtt_url, (f"campus/v1/b{tag}/status/{gas}", {"event_id": "h1", "ts": now_ts()}))
    off = one_alarm(db_url, gas, "offline")
    assert (off["signal_class"], off["priority"]) == ("trouble", "medium")
    send(mqtt_url, (f"campus/v1/b{tag}/status/{gas}", {"event_id": "h2", "ts": now_ts()}))
    one_alarm(db_url, gas, "offline", active=False)


def test_drills_raise_their_own_marked_alarms(ingest, db_url, mqtt_url, campus):
    tag = campus
    send(mqtt_url, smoke(tag, 3, "alarm", drill=True))
    drill = one_alarm(db_url, f"r{tag}-smoke-3", "fire", drill=True)
    assert drill["priority"] == "critical"
    assert not [a for a in alarms_for(db_url, f"r{tag}-smoke-3") if not a["drill"]]


def test_eight_concurrent_acknowledges_exactly_one_wins(ingest, db_url, mqtt_url, campus):
    tag = campus
    send(
        mqtt_url,
        (f"campus/v1/b{tag}/door/door{tag}", {"event_id": secrets.token_hex(3), "ts": now_ts(), "event": "tamper"}),
    )
    alarm = one_alarm(db_url, f"door{tag}", "tamper", state="active_unacked")
    results = []
    barrier = threading.Barrier(8)

    def ack(i):
        with psycopg.connect(db_url) as conn:
            barrier.wait()
            try:
                actions.acknowledge(conn, alarm["id"], f"officer{i}")
                results.append(("ok", i))
            except ActionRefusedError as exc:
                results.append(("refused", str(exc)))

    threads = [threading.Thread(target=ack, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wins = [r for r in results if r[0] == "ok"]
    assert len(wins) == 1 and len(results) == 8
    winner = f"officer{wins[0][1]}"
    assert all(f"already acknowledged by {winner}" in r[1] for r in results if r[0] == "refused")


def test_journal_is_append_only(db_url, campus):
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT id FROM alarm_journal LIMIT 1").fetchone()
        assert row, "earlier tests wrote journal entries"
        for sql in ("UPDATE alarm_journal SET note = 'x' WHERE id = %s", "DELETE FROM alarm_journal WHERE id = %s"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(sql, (row[0],))
            conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE alarm_journal CASCADE")
        conn.rollback()


def test_escalation_outbound_mqtt_and_notify(ingest, db_url, mqtt_url, campus):
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    tag = campus
    seen = {}
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, m: seen.__setitem__(m.topic, m.payload)
    client.on_connect = lambda c, *a: c.subscribe("campus/v1/_alarms/#", qos=1)
    host, port = mqtt_url.rsplit("//", 1)[1].split(":")
    client.connect(host, int(port))
    client.loop_start()
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN safecampus_alarms")
        send(mqtt_url, smoke(tag, 2, "fault"))
        alarm = one_alarm(db_url, f"r{tag}-smoke-2", "smoke_fault")
        # Other alarms of the module may notify first (a shelf expiring): this alarm's first notice says raised.
        ours = next((x for n in listener.notifies(timeout=5) if (x := json.loads(n.payload))["id"] == alarm["id"]), {})
        assert ours.get("action") == "raised"
    topic = f"campus/v1/_alarms/{alarm['id']}"

    def ours():
        # The shared broker may hold a stale retained message for this id from another database.
        raw = seen.get(topic)
        body = json.loads(raw) if raw else {}
        return body if body.get("sensor_id") == alarm["sensor_id"] else None

    body = wait_until(ours, 10, what="retained alarm on MQTT")
    assert {"id", "sensor_id", "building", "type", "priority", "state", "raised_at"} <= body.keys()
    assert (body["type"], body["state"], body["building"]) == ("smoke_fault", "active_unacked", f"b{tag}")
    # The text in the site's language (zh-CN by default), and what a subscriber needs to render its own.
    assert (body["message"], body["language"]) == ("感烟探测器故障", "zh-CN")
    assert (body["message_key"], body["message_params"]) == ("smoke_fault", {})
    # A critical alarm left unacknowledged past its limit (2 s here) escalates.
    send(mqtt_url, smoke(tag, 3, "alarm"))
    fire = one_alarm(db_url, f"r{tag}-smoke-3", "fire", drill=False)
    esc = wait_until(lambda: one_alarm(db_url, f"r{tag}-smoke-3", "fire", drill=False)["escalated_at"], 10)
    assert esc
    # Closing clears the retained message.
    send(mqtt_url, smoke(tag, 2, "normal"))
    with psycopg.connect(db_url) as conn:
        actions.acknowledge(conn, alarm["id"], "officer1")
    wait_until(lambda: seen.get(topic) == b"", 10, what="retained message cleared")
    client.disconnect()
    client.loop_stop()
    assert fire["id"] != alarm["id"]


def test_officer_actions_shelve_close_procedure_and_stale_views(ingest, db_url, mqtt_url, campus):
    tag = campus
    sensor = f"r{tag}-smoke-1"
    send(mqtt_url, smoke(tag, 1, "fault"))
    a = one_alarm(db_url, sensor, "smoke_fault", state="active_unacked")
    with psycopg.connect(db_url) as conn:
        with pytest.raises(ActionRefusedError, match="needs a reason"):
            actions.shelve(conn, a["id"], "o1", 10, "")
        with pytest.raises(ActionRefusedError, match="at most 480 minutes"):
            actions.shelve(conn, a["id"], "o1", 600, "known fault")
        shelved = actions.shelve(conn, a["id"], "o1", 0.02, "known fault").alarm
        assert shelved["shelved_until"] is not None
    one_alarm(db_url, sensor, "smoke_fault", shelved_until=None)  # expired by itself (1.2 s)
    with psycopg.connect(db_url) as conn:
        with pytest.raises(ActionRefusedError, match="changed since you opened it"):
            actions.acknowledge(conn, a["id"], "o1", expected_version=a["version"])
        with pytest.raises(ActionRefusedError, match="while its condition is present"):
            actions.close(conn, a["id"], "o1", "real")
        actions.assign(conn, a["id"], "o2")
        actions.add_note(conn, a["id"], "o2", "maintenance called")
    send(mqtt_url, smoke(tag, 1, "normal"))
    a = one_alarm(db_url, sensor, "smoke_fault", state="rtn_unacked")
    with psycopg.connect(db_url) as conn:
        with pytest.raises(ActionRefusedError, match="procedure step"):
            actions.close(conn, a["id"], "o2", "real")
        actions.tick_step(conn, a["id"], "o2", 0)
        closed = actions.close(conn, a["id"], "o2", "real").alarm
        assert (closed["state"], closed["disposition"]) == ("closed", "real")
        with pytest.raises(ActionRefusedError, match="already closed by o2"):
            actions.acknowledge(conn, a["id"], "o3")
        journal = (
            conn.cursor(row_factory=dict_row)
            .execute("SELECT actor, action, note FROM alarm_journal WHERE alarm_id = %s ORDER BY id", (a["id"],))
            .fetchall()
        )
    assert [j["action"] for j in journal] == [
        "raised",
        "shelved",
        "shelve expired",
        "assigned",
        "note",
        "cleared",
        "step done",
        "closed",
    ]
    assert journal[4]["note"] == "maintenance called"


def test_rule_state_survives_a_restart_and_event_time_decides(make_settings, db_url, mqtt_url, campus):
    tag = campus
    gas = f"gas{tag}"
    topic = f"campus/v1/b{tag}/lab/{gas}"
    from datetime import UTC, datetime, timedelta

    from ingest.mqtt.contract import format_ts

    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)  # the O2 on-delay is 5 s
    with running_ingest_with_alarms(make_settings(), tick=False):
        send(
            mqtt_url,
            *[
                (
                    topic,
                    {"event_id": f"r{i}", "ts": format_ts(base + timedelta(seconds=i)), "readings": {"o2_pct": 19.0}},
                )
                for i in range(3)
            ],
        )
        wait_until(lambda: _rule_state(db_url, gas, "o2_low") == "pending", 10, what="on-delay pending")
    assert not [a for a in alarms_for(db_url, gas) if a["condition"] == "o2_low"]
    with running_ingest_with_alarms(make_settings(), tick=False):
        send(
            mqtt_url,
            *[
                (
                    topic,
                    {"event_id": f"r{i}", "ts": format_ts(base + timedelta(seconds=i)), "readings": {"o2_pct": 19.0}},
                )
                for i in range(3, 8)
            ],
        )
        alarm = one_alarm(db_url, gas, "o2_low")
    # Raised at the event time the on-delay completed (5 s after the first reading), not at wall time.
    assert alarm["raised_at"] == base + timedelta(seconds=5)


def _rule_state(db_url, sensor, condition):
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT state -> 'limits' -> %s ->> 'phase' FROM rule_state WHERE sensor_id = %s", (condition, sensor)
        ).fetchone()
    return row[0] if row else None


def test_alarms_inside_a_suppression_window_are_kept_but_suppressed(ingest, db_url, mqtt_url, campus):
    tag = campus
    send(mqtt_url, (f"campus/v1/b{tag}/door/sdoor{tag}", {"event_id": "s1", "ts": now_ts(), "event": "door_forced"}))
    alarm = one_alarm(db_url, f"sdoor{tag}", "door_forced")
    assert alarm["suppressed"] is True
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM alarm_journal WHERE alarm_id = %s", (alarm["id"],)).fetchone()[0] == 1
