"""Device adapters through the real broker and database: foreign messages raise the same alarms."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from dashboard import queries as dq
from ingest.core.site import Site
from ingest.core.sitefile import adoption, site_file_lines
from ingest.db.registry import load_site as load_into_db
from tests.conftest import wait_until
from tests.integration.helpers import alarms_for, publish_all, publisher, running_ingest_with_alarms, scalar


def _iso(offset_s: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture(scope="module")
def campus(db_url):
    tag = secrets.token_hex(3)
    site = Site.model_validate({
        "name": "t", "departments": [{"id": "d", "name": "D"}],
        "buildings": [{"id": f"b{tag}", "name": "B", "use": "lab", "department": "d", "floors": 4,
                       "outline": [[0, 0], [1, 0], [1, 1]], "rooms": [
            {"id": f"r{tag}", "name": "Lab", "use": "lab", "floor": 3, "sensors": [
                {"id": f"zs{tag}", "kind": "smoke",
                 "source": {"adapter": "zigbee2mqtt", "topic": f"zigbee2mqtt/{tag}/3F/lab/smoke1"}},
                {"id": f"zd{tag}", "kind": "door",
                 "source": {"adapter": "zigbee2mqtt", "topic": f"zigbee2mqtt/{tag}/store-door",
                            "open_event": "door_forced"}},
                {"id": f"cs{tag}", "kind": "lab", "metrics": ["gas_ppm.NH3"],
                 "source": {"adapter": "chirpstack", "device": f"a0b1c2d3e4{tag}"}},
                {"id": f"tt{tag}", "kind": "lab", "metrics": ["face_velocity_mps"],
                 "source": {"adapter": "ttn", "device": f"hood-{tag}"}},
                {"id": f"zm{tag}", "kind": "smoke",  # a mains Zigbee detector with a short limit
                 "source": {"adapter": "zigbee2mqtt", "topic": f"zigbee2mqtt/{tag}/mains", "power": "mains",
                            "offline_after_s": 60}},
                {"id": f"zb{tag}", "kind": "smoke",  # battery: 25 h
                 "source": {"adapter": "zigbee2mqtt", "topic": f"zigbee2mqtt/{tag}/battery"}},
            ]},
            {"id": f"s{tag}", "name": "Store", "use": "store", "floor": 0}]}]})
    with psycopg.connect(db_url) as conn:
        load_into_db(conn, site)
    return tag


@pytest.fixture
def ingest(make_settings):
    with running_ingest_with_alarms(make_settings()) as svc:
        yield svc


def send(mqtt_url, *messages, qos=1):
    with publisher(mqtt_url) as pub:
        if qos == 1:
            publish_all(pub, list(messages))
        else:
            for topic, body in messages:
                raw = json.dumps(body).encode() if isinstance(body, dict) else body
                pub.publish(topic, raw, qos=0).wait_for_publish(10)


def one_alarm(db_url, sensor, condition, **where):
    def find():
        rows = [a for a in alarms_for(db_url, sensor)
                if a["condition"] == condition and all(a[k] == v for k, v in where.items())]
        return rows[-1] if rows else None

    return wait_until(find, 10, 0.1, what=f"{condition} alarm on {sensor} with {where}")


def test_zigbee2mqtt_smoke_raises_fire_contact_a_forced_door_availability_a_trouble(ingest, db_url, mqtt_url, campus):
    tag = campus
    smoke_topic = f"zigbee2mqtt/{tag}/3F/lab/smoke1"
    send(mqtt_url, (smoke_topic, {"smoke": True, "tamper": False, "battery_low": False, "trouble": False,
                                  "test": False, "battery": 93, "linkquality": 120, "last_seen": _iso(-1)}))
    fire = one_alarm(db_url, f"zs{tag}", "fire")
    assert (fire["priority"], fire["building_id"], fire["drill"]) == ("critical", f"b{tag}", False)
    assert scalar(db_url, "SELECT battery_pct FROM sensors WHERE id = %s", (f"zs{tag}",)) == 93
    # contact: true is a closed door; false (keys missing too) opens a door nobody may open: forced.
    door = f"zigbee2mqtt/{tag}/store-door"
    send(mqtt_url, (door, {"contact": True, "linkquality": 144}))
    send(mqtt_url, (door, {"contact": False}))
    forced = one_alarm(db_url, f"zd{tag}", "door_forced")
    assert forced["priority"] == "high"
    # zigbee2mqtt says the device is gone: a trouble alarm now, not after 25 hours of silence.
    send(mqtt_url, (f"{door}/availability", {"state": "offline"}))
    off = one_alarm(db_url, f"zd{tag}", "offline")
    assert (off["signal_class"], off["message_key"]) == ("trouble", "offline_reported")
    send(mqtt_url, (f"{door}/availability", {"state": "online"}))
    one_alarm(db_url, f"zd{tag}", "offline", active=False)
    # The source's offline limit is in the registry: 25 h for a battery Zigbee device.
    assert scalar(db_url, "SELECT thresholds ->> 'offline_after_s' FROM sensors WHERE id = %s",
                  (f"zd{tag}",)) == str(25 * 3600)
    # A malformed state is a dead letter that names the adapter and the reason.
    send(mqtt_url, (smoke_topic, b'{"smoke": "perhaps"}'))
    reason = wait_until(lambda: scalar(db_url, "SELECT reason FROM dead_letters WHERE topic = %s", (smoke_topic,)), 10)
    assert reason == "zigbee2mqtt: smoke must be true or false, not 'perhaps'"


def test_chirpstack_nh3_alarm_and_redelivered_uplinks_stored_once(ingest, db_url, mqtt_url, campus):
    tag = campus
    dev = f"a0b1c2d3e4{tag}"
    topic = f"application/9b2c/device/{dev}/event/up"

    def uplink(n, nh3, at):
        return {"deduplicationId": f"{tag}-{n}", "time": at, "fCnt": n, "fPort": 1, "data": "AA==",
                "deviceInfo": {"devEui": dev, "deviceName": "store nh3", "applicationName": "labs"},
                "object": {"nh3": nh3, "battery": 77}}

    first, second = uplink(1, 60, _iso(-8)), uplink(2, 62, _iso(-1))
    # The network sends the same uplink three times (a reconnect, a second integration): stored once.
    send(mqtt_url, (topic, first), (topic, first), (topic, second), (topic, first), (topic, second))
    alarm = one_alarm(db_url, f"cs{tag}", "gas_high:NH3")
    assert alarm["priority"] == "critical"  # 62 ppm: past the second limit (50)
    wait_until(lambda: scalar(db_url, "SELECT count(*) FROM events WHERE sensor_id = %s", (f"cs{tag}",)) == 2, 10)
    assert scalar(db_url, "SELECT count(*) FROM readings WHERE sensor_id = %s AND metric = 'gas_ppm.NH3'",
                  (f"cs{tag}",)) == 2
    # An uplink without a codec's object is a dead letter saying what to fix.
    bare = uplink(3, 0, _iso()) | {"object": None}
    send(mqtt_url, (topic, {k: v for k, v in bare.items() if k != "object"}))
    reason = wait_until(lambda: scalar(db_url, "SELECT reason FROM dead_letters WHERE topic = %s", (topic,)), 10)
    assert "give the device profile a codec" in reason


def test_the_things_stack_qos0_uplink_is_stored(ingest, db_url, mqtt_url, campus):
    tag = campus
    up = {"end_device_ids": {"device_id": f"hood-{tag}", "application_ids": {"application_id": "labs"}},
          "received_at": _iso(), "uplink_message": {"f_port": 2, "f_cnt": 5, "decoded_payload": {"face_velocity": 0.5},
                                                    "received_at": _iso()}}
    send(mqtt_url, (f"v3/labs@campus/devices/hood-{tag}/up", up), qos=0)
    wait_until(lambda: scalar(db_url, "SELECT value FROM readings WHERE sensor_id = %s", (f"tt{tag}",)) == 0.5, 10)


def test_an_unknown_device_is_unregistered_with_its_adapter_until_an_admin_adopts_it(ingest, db_url, mqtt_url,
                                                                                     campus):
    tag = campus
    service = ingest[0]
    topic = f"zigbee2mqtt/0x00158d00{tag}"
    send(mqtt_url, (topic, {"water_leak": True, "battery": 80}))
    sid = f"z2m-zigbee2mqtt.0x00158d00{tag}"
    row = wait_until(lambda: _sensor(db_url, sid), 10, what="the unknown device registered")
    assert (row["registered"], row["building_id"], row["kind"]) == (False, "unassigned", "lab")
    assert row["source"] == {"adapter": "zigbee2mqtt", "key": topic, "topic": topic}
    one_alarm(db_url, sid, "water_leak")  # never dropped, even before anyone placed it
    # An admin places it in the store (what /sensors does), and its next messages are there.
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        interval, thresholds = adoption("lab", row["source"], ["water_leak"])
        adopted = conn.execute(dq.ADOPT_SENSOR, {"id": sid, "room": f"s{tag}", "name": None, "interval_s": interval,
                                                 "thresholds": Jsonb(thresholds)}).fetchone()
        assert adopted["building_id"] == f"b{tag}"
        assert conn.execute(dq.ADOPT_SENSOR, {"id": sid, "room": f"s{tag}", "name": None, "interval_s": interval,
                                              "thresholds": Jsonb(thresholds)}).fetchone() is None  # only once
    service.refresh_bindings()
    send(mqtt_url, (topic, {"water_leak": False, "battery": 80}))
    wait_until(lambda: scalar(db_url, "SELECT count(*) FROM events WHERE sensor_id = %s AND building_id = %s",
                              (sid, f"b{tag}")) == 1, 10, what="the next message in the adopted room's building")
    assert _sensor(db_url, sid)["thresholds"] == {"metrics": ["water_leak"], "offline_after_s": 25 * 3600}
    # A LoRaWAN device is named by its DevEUI, whatever topic its uplinks came on: adopted, it binds too.
    dev = f"70b3d57ed0{tag}"
    uplink = {"time": _iso(), "fCnt": 1, "deviceInfo": {"devEui": dev, "deviceName": "cold store"},
              "object": {"temperature": 4.5}}
    send(mqtt_url, (f"application/x/device/{dev}/event/up", uplink))
    lora = wait_until(lambda: _sensor(db_url, f"lora-{dev}"), 10, what="the LoRaWAN device registered")
    with psycopg.connect(db_url) as conn:
        interval, thresholds = adoption("lab", lora["source"], ["temperature_c"])
        conn.execute(dq.ADOPT_SENSOR, {"id": f"lora-{dev}", "room": f"s{tag}", "name": None, "interval_s": interval,
                                       "thresholds": Jsonb(thresholds)})
    service.refresh_bindings()
    send(mqtt_url, (f"application/x/device/{dev}/event/up", uplink | {"fCnt": 2, "time": _iso()}))
    wait_until(lambda: scalar(db_url, "SELECT count(*) FROM events WHERE sensor_id = %s AND building_id = %s",
                              (f"lora-{dev}", f"b{tag}")) == 1, 10, what="the adopted LoRaWAN device's next uplink")
    assert "device: " + dev in site_file_lines(f"lora-{dev}", "lab", lora["source"], ["temperature_c"])


def _sensor(db_url, sid):
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM sensors WHERE id = %s", (sid,)).fetchone()


def test_a_recorded_foreign_feed_replayed_gives_the_same_events_and_alarms(ingest, db_url, mqtt_url, campus,
                                                                             tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT

    tag = secrets.token_hex(3)
    rec = tmp_path / "foreign.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_DB_URL": db_url, "SAFECAMPUS_MQTT_URL": mqtt_url, "SAFECAMPUS_INGEST_ID": f"rec{tag}"}
    recorder = subprocess.Popen([sys.executable, "-m", "ingest.app.cli", "sim", "record", str(rec)], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    smoke = (f"zigbee2mqtt/rp{tag}/smoke", {"smoke": True, "battery": 90, "last_seen": _iso(-2)})
    uplink = (f"application/a/device/ffee{tag}0011/event/up",
              {"time": _iso(-1), "fCnt": 7, "deviceInfo": {"devEui": f"ffee{tag}0011", "deviceName": f"rp{tag}"},
               "object": {"nh3": 3.5}})
    try:
        time.sleep(2)
        send(mqtt_url, smoke, uplink)
        wait_until(lambda: rec.exists() and len(rec.read_text().splitlines()) >= 2, 15, what="recording")
        recorder.send_signal(signal.SIGINT)
        assert recorder.wait(15) == 0
    finally:
        if recorder.poll() is None:
            recorder.kill()
    ids = (f"z2m-zigbee2mqtt.rp{tag}.smoke", f"lora-ffee{tag}0011")

    def stored():
        with psycopg.connect(db_url) as conn:
            return sorted(conn.execute("SELECT sensor_id, event_id, time FROM events WHERE sensor_id = ANY(%s)",
                                       (list(ids),)).fetchall())

    wait_until(lambda: len(stored()) == 2, 10, what="both events stored")
    first = stored()
    one_alarm(db_url, ids[0], "fire")
    out = subprocess.run([sys.executable, "-m", "ingest.app.cli", "sim", "replay", str(rec), "--speed", "1000"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]
    assert "replayed 2 of 2 messages" in out.stdout
    time.sleep(2)
    # The same bytes make the same event ids and times: nothing new stored, no second alarm.
    assert stored() == first
    assert len([a for a in alarms_for(db_url, ids[0]) if a["condition"] == "fire"]) == 1


def test_silence_counts_against_each_devices_own_offline_limit(ingest, db_url, mqtt_url, campus):
    tag = campus
    # Both detectors last spoke 150 s ago (their own clocks); then the campus moves on.
    send(mqtt_url, (f"zigbee2mqtt/{tag}/mains", {"smoke": False, "last_seen": _iso(-150)}),
         (f"zigbee2mqtt/{tag}/battery", {"smoke": False, "last_seen": _iso(-150)}))
    wait_until(lambda: scalar(db_url, "SELECT count(*) FROM events WHERE sensor_id IN (%s, %s)",
                              (f"zm{tag}", f"zb{tag}")) == 2, 10)
    send(mqtt_url, (f"zigbee2mqtt/{tag}/3F/lab/smoke1", {"smoke": False, "last_seen": _iso()}))
    off = one_alarm(db_url, f"zm{tag}", "offline")
    assert (off["message_key"], off["message_params"]) == ("offline_for", {"limit": 60.0, "unit": "s"})
    # The battery detector's limit is 25 h: 150 s of silence is nothing.
    time.sleep(2)
    assert [a for a in alarms_for(db_url, f"zb{tag}") if a["condition"] == "offline"] == []
