"""Device adapters on example messages shaped as each ecosystem documents them.

Sources of the example payloads (shapes, field names; values ours):
- zigbee2mqtt: "MQTT topics and messages" and the device pages of Heiman HS1SA (smoke),
  Aqara MCCGQ11LM (contact) and Heiman HS1CG (gas) in the zigbee2mqtt documentation.
- Tasmota: "MQTT" and "Commands" pages (tele/<topic>/SENSOR, STATE, LWT).
- ChirpStack v4: the integration event definitions (integration.proto, JSON field names).
- The Things Stack v3: "Data formats" (uplink message) in its documentation.
- Home Assistant: the MQTT statestream integration page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.core.errors import ContractError
from ingest.core.settings import Settings
from ingest.core.site import Source
from ingest.mqtt import adapters
from ingest.mqtt.adapters.base import Bindings, at_path

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def router(*rows, **settings):
    r = adapters.from_settings(Settings(adapter_generic_topics="factory/#", **settings))
    r.bindings = Bindings(rows)
    return r


def src(**kw):
    s = Source(**kw)
    return s.model_dump(mode="json", exclude_defaults=True) | {"key": s.key}


def enc(payload) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


Z2M_SMOKE = {"smoke": True, "tamper": False, "battery_low": False, "trouble": False, "test": False,
             "battery": 100, "linkquality": 120, "last_seen": "2026-03-02T05:59:58.794Z"}
CS_UP = {
    "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
    "time": "2026-03-02T05:59:59.473573Z",
    "deviceInfo": {"tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": "Campus",
                   "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97", "applicationName": "labs",
                   "deviceProfileId": "14855bf7-d10d-4aee-b618-ebfcb64dc7ad", "deviceProfileName": "NH3 sensor",
                   "deviceName": "lab-203-nh3", "devEui": "0101010101010101", "tags": {"room": "203"}},
    "devAddr": "00189440", "dr": 1, "fPort": 1, "fCnt": 31, "data": "AB0=", "object": {"nh3": 41.5, "battery": 88},
    "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -57, "snr": 10, "nsTime": "2026-03-02T05:59:59.5Z"}],
}
TTS_UP = {
    "end_device_ids": {"device_id": "hood-7", "application_ids": {"application_id": "labs"},
                       "dev_eui": "70B3D57ED0000001"},
    "correlation_ids": ["as:up:01H0S0FZ0"],
    "received_at": "2026-03-02T05:59:59.812Z",
    "uplink_message": {"f_port": 2, "f_cnt": 12, "frm_payload": "AQ==",
                       "decoded_payload": {"face_velocity": 0.31},
                       "received_at": "2026-03-02T05:59:59.601Z"},
}


def test_zigbee2mqtt_smoke_binds_by_source_and_raises_fire_state():
    r = router(("lab3-smoke-1", "smoke", "labs", True, src(adapter="zigbee2mqtt", topic="zigbee2mqtt/bldgA/3F/smoke1")))
    e = r.decode("zigbee2mqtt/bldgA/3F/smoke1", enc(Z2M_SMOKE), NOW)
    assert (e.sensor_id, e.building, e.kind, e.state) == ("lab3-smoke-1", "labs", "smoke", "alarm")
    assert e.readings["battery_pct"] == 100
    assert e.ts == datetime(2026, 3, 2, 5, 59, 58, 794000, tzinfo=UTC)  # last_seen, not our clock
    assert e.payload["source"]["raw"] == Z2M_SMOKE  # what the device said is kept
    # The same message again (a redelivery) gets the same id; a different one does not.
    assert r.decode("zigbee2mqtt/bldgA/3F/smoke1", enc(Z2M_SMOKE), NOW + timedelta(seconds=5)).event_id == e.event_id
    other = r.decode("zigbee2mqtt/bldgA/3F/smoke1", enc(Z2M_SMOKE | {"smoke": False}), NOW)
    assert other.event_id != e.event_id and other.state == "normal"
    trouble = r.decode("zigbee2mqtt/bldgA/3F/smoke1", enc(Z2M_SMOKE | {"smoke": False, "battery_low": True}), NOW)
    assert trouble.state == "fault"
    test = r.decode("zigbee2mqtt/bldgA/3F/smoke1", enc(Z2M_SMOKE | {"test": True}), NOW)
    assert test.drill  # the test button: stored, never a real fire


def test_zigbee2mqtt_contact_true_means_closed_and_keys_may_be_missing():
    r = router(("store-door", "door", "chem", True,
                src(adapter="zigbee2mqtt", topic="zigbee2mqtt/store-door", open_event="door_forced")))
    closed = r.decode("zigbee2mqtt/store-door",
                      enc({"contact": True, "last_seen": "2026-03-02T05:59:36.794Z", "linkquality": 144}), NOW)
    assert closed.state == "door_closed"
    opened = r.decode("zigbee2mqtt/store-door", enc({"contact": False, "linkquality": 144}), NOW)
    assert opened.state == "door_forced" and opened.ts == NOW  # no last_seen: our receive time
    battery_only = r.decode("zigbee2mqtt/store-door", enc({"battery": 67}), NOW)
    assert battery_only.kind == "status" and battery_only.readings == {"battery_pct": 67}
    tamper = r.decode("zigbee2mqtt/store-door", enc({"contact": True, "tamper": True}), NOW)
    assert tamper.state == "tamper"


def test_zigbee2mqtt_gas_detector_and_availability_and_bridge_topics():
    r = router(("k1-gas", "lab", "canteen", True, src(adapter="zigbee2mqtt", topic="zigbee2mqtt/k1-gas")))
    gas = r.decode("zigbee2mqtt/k1-gas", enc({"gas": True, "battery_low": False, "tamper": False}), NOW)
    assert gas.kind == "lab" and gas.readings == {"gas_alarm": 1.0}
    off = r.decode("zigbee2mqtt/k1-gas/availability", b'{"state":"offline"}', NOW)
    assert (off.kind, off.state, off.sensor_id) == ("status", "offline", "k1-gas")
    assert r.decode("zigbee2mqtt/k1-gas/availability", b"online", NOW).state == "heartbeat"
    assert r.decode("zigbee2mqtt/bridge/state", b'{"state":"online"}', NOW) is None
    assert r.decode("zigbee2mqtt/bridge/logging", b'{"level":"info"}', NOW) is None
    assert r.decode("zigbee2mqtt/k1-gas/set", b'{"alarm":true}', NOW) is None
    with pytest.raises(ContractError, match="online or offline"):
        r.decode("zigbee2mqtt/k1-gas/availability", b"maybe", NOW)


def test_a_device_named_like_a_sensor_binds_without_a_source_line():
    r = router(("labs-203-smoke-1", "smoke", "labs", True, None))
    e = r.decode("zigbee2mqtt/labs/2F/labs-203-smoke-1", enc({"smoke": False}), NOW)
    assert (e.sensor_id, e.building, e.state) == ("labs-203-smoke-1", "labs", "normal")


def test_unknown_devices_are_unregistered_with_their_adapter_or_dead_letters():
    r = router()
    e = r.decode("zigbee2mqtt/0x00158d0001a2b3c4", enc({"contact": False}), NOW)
    assert (e.sensor_id, e.building, e.kind) == ("z2m-zigbee2mqtt.0x00158d0001a2b3c4", "unassigned", "door")
    assert e.payload["source"]["adapter"] == "zigbee2mqtt"
    assert r.decode("zigbee2mqtt/0x00158d0001a2b3c4/availability", b"offline", NOW) is None  # nothing to watch yet
    with pytest.raises(ContractError, match=r"zigbee2mqtt: no SafeCampus signal.*linkquality"):
        r.decode("zigbee2mqtt/remote-1", enc({"action": "single", "linkquality": 90}), NOW)


def test_tasmota_sensor_state_and_lwt_local_time_in_campus_zone():
    r = router(("hood-3", "lab", "labs", True, src(adapter="tasmota", topic="tele/lab3-hood")),
               ("door-9", "door", "labs", True, src(adapter="tasmota", topic="door9")))
    e = r.decode("tele/lab3-hood/SENSOR",
                 enc({"Time": "2026-03-02T13:59:50", "AM2301": {"Temperature": 22.5, "Humidity": 41.2},
                      "TempUnit": "C"}), NOW)
    assert e.readings == {"temperature_c": 22.5, "humidity_pct": 41.2}
    assert e.ts == datetime(2026, 3, 2, 5, 59, 50, tzinfo=UTC)  # 13:59:50 in Asia/Shanghai
    door = r.decode("tele/door9/SENSOR", enc({"Time": "2026-03-02T13:59:51", "Switch1": "OFF"}), NOW)
    assert door.state == "door_opened"  # circuit open: the magnet has left the reed switch
    state = r.decode("tele/lab3-hood/STATE", enc({"Time": "2026-03-02T13:59:52", "Uptime": "0T01:00:00",
                                                  "Wifi": {"AP": 1, "SSId": "campus", "RSSI": 80, "Signal": -60}}), NOW)
    assert (state.kind, state.readings) == ("status", {"rssi_dbm": -60})
    lwt = r.decode("tele/lab3-hood/LWT", b"Offline", NOW)
    assert lwt.state == "offline"
    with pytest.raises(ContractError, match="tasmota: Time"):
        r.decode("tele/lab3-hood/SENSOR", enc({"Time": "yesterday", "AM2301": {"Temperature": 1}}), NOW)


def test_chirpstack_uplink_status_join_and_the_codec_pitfall():
    r = router(("labs-203-gas", "lab", "labs", True, src(adapter="chirpstack", device="0101010101010101")))
    e = r.decode("application/17c82e96/device/0101010101010101/event/up", enc(CS_UP), NOW)
    assert e.readings == {"gas_ppm.NH3": 41.5, "battery_pct": 88}
    assert e.event_id == CS_UP["deduplicationId"]
    assert e.ts == datetime(2026, 3, 2, 5, 59, 59, 473573, tzinfo=UTC)
    no_time = {k: v for k, v in CS_UP.items() if k != "time"}
    assert r.decode("application/a/device/0101010101010101/event/up", enc(no_time), NOW).ts == datetime(
        2026, 3, 2, 5, 59, 59, 500000, tzinfo=UTC)  # the network server's time, not ours
    status = r.decode("application/a/device/0101010101010101/event/status",
                      enc({"deduplicationId": "5e8f", "time": "2026-03-02T05:59:00Z", "deviceInfo": CS_UP["deviceInfo"],
                           "margin": 7, "batteryLevel": 55.5}), NOW)
    assert (status.kind, status.readings) == ("status", {"battery_pct": 55.5, "link_margin_db": 7})
    join = r.decode("application/a/device/0101010101010101/event/join",
                    enc({"deduplicationId": "77aa", "time": "2026-03-02T05:58:00Z", "deviceInfo": CS_UP["deviceInfo"],
                         "devAddr": "00189440"}), NOW)
    assert join.state == "heartbeat"
    assert r.decode("application/a/device/0101010101010101/event/txack", b"{}", NOW) is None
    no_codec = {k: v for k, v in CS_UP.items() if k != "object"}
    with pytest.raises(ContractError, match="chirpstack: uplink without a decoded 'object'"):
        r.decode("application/a/device/0101010101010101/event/up", enc(no_codec), NOW)


def test_the_things_stack_uplink_leaves_out_false_and_zero():
    r = router(("hood-7", "lab", "labs", True, None),
               ("smoke-t", "smoke", "labs", True, src(adapter="ttn", device="smoke-t")))
    e = r.decode("v3/labs@campus/devices/hood-7/up", enc(TTS_UP), NOW)
    assert e.readings == {"face_velocity_mps": 0.31}
    assert e.ts == datetime(2026, 3, 2, 5, 59, 59, 601000, tzinfo=UTC)
    quiet = json.loads(json.dumps(TTS_UP))
    quiet["end_device_ids"]["device_id"] = "smoke-t"
    quiet["uplink_message"]["decoded_payload"] = {"battery": 90}  # "smoke": false left out
    assert r.decode("v3/labs@campus/devices/smoke-t/up", enc(quiet), NOW).state == "normal"
    quiet["uplink_message"].pop("decoded_payload")
    with pytest.raises(ContractError, match="payload formatter"):
        r.decode("v3/labs@campus/devices/smoke-t/up", enc(quiet), NOW)


def test_home_assistant_statestream_states_take_their_meaning_from_the_sensor():
    r = router(("lab3-smoke", "smoke", "labs", True, src(adapter="homeassistant", device="binary_sensor.lab3_smoke")),
               ("hall-door-1", "door", "hall", True, None),
               ("store-nh3", "lab", "chem", True, src(adapter="homeassistant", device="sensor.store_nh3",
                                                      fields={"state": {"to": "gas_ppm.NH3"}})))
    assert r.decode("homeassistant/binary_sensor/lab3_smoke/state", b"on", NOW).state == "alarm"
    assert r.decode("homeassistant/binary_sensor/hall_door_1/state", b"on", NOW).state == "door_opened"
    assert r.decode("homeassistant/sensor/store_nh3/state", b"12.5", NOW).readings == {"gas_ppm.NH3": 12.5}
    assert r.decode("homeassistant/binary_sensor/lab3_smoke/state", b"unavailable", NOW).state == "offline"
    assert r.decode("homeassistant/binary_sensor/lab3_smoke/state", b"unknown", NOW) is None
    assert r.decode("homeassistant/light/kitchen/state", b"on", NOW) is None  # not ours to read
    with pytest.raises(ContractError, match="must be a number"):
        r.decode("homeassistant/sensor/store_nh3/state", b"high", NOW)


def test_generic_mapping_paths_value_maps_inversion_time_and_id():
    fields = {"$.data.nh3": {"to": "gas_ppm.NH3", "scale": 0.001}, "$.flags[0]": {"to": "water_leak", "invert": True}}
    r = router(("f9-nh3", "lab", "labs", True,
                src(adapter="generic", topic="factory/line9/nh3", fields=fields, ts="$.data.t", event_id="$.id")),
               ("f9-smoke", "smoke", "labs", True,
                src(adapter="generic", topic="factory/line9/smoke", fields={"alarm": {"to": "smoke",
                                                                                    "map": {"2": True, "0": False}}})))
    e = r.decode("factory/line9/nh3", enc({"id": 7781, "data": {"nh3": 30500, "t": 1772431190000}, "flags": [1]}), NOW)
    assert e.readings == {"gas_ppm.NH3": 30.5, "water_leak": 0.0}
    assert (e.event_id, e.ts) == ("7781", datetime(2026, 3, 2, 5, 59, 50, tzinfo=UTC))
    assert r.decode("factory/line9/smoke", enc({"alarm": 2}), NOW).state == "alarm"
    with pytest.raises(ContractError, match=r"generic: no time at \$.data.t"):
        r.decode("factory/line9/nh3", enc({"id": 1, "data": {"nh3": 1}}), NOW)
    with pytest.raises(ContractError, match="generic: no SafeCampus signal"):
        r.decode("factory/unknown", enc({"x": 1}), NOW)
    assert at_path({"a": [{"b": 3}]}, "$.a[0].b") == 3 and at_path({"a": []}, "a[2]") is None


@pytest.mark.parametrize(
    ("topic", "raw", "reason"),
    [
        ("zigbee2mqtt/dev", b"\xff\xfe", "not valid UTF-8"),
        ("zigbee2mqtt/dev", b"[1,2]", "must be a JSON object"),
        ("zigbee2mqtt/dev", b'{"smoke": "maybe"}', "smoke must be true or false"),
        ("zigbee2mqtt/dev", b'{"smoke": true, "last_seen": "noon"}', "ts must be RFC 3339"),
        ("zigbee2mqtt/dev", b'{"smoke": true, "battery": 250}', "battery_pct must be between 0 and 100"),
        ("zigbee2mqtt/dev", b'{"smoke": true, "last_seen": "2031-01-01T00:00:00Z"}', "in the future"),
        ("application/a/device/01/event/up", b'{"object": [1]}', "must be a JSON object"),
        ("v3/a/devices/d/up", b'{"uplink_message": 3}', "no uplink_message"),
        ("tele/x/SENSOR", b'{"Time": 5}', "Time must be text"),
        ("tele/x/LWT", b"Sleeping", "LWT must be Online or Offline"),
    ],
)
def test_malformed_foreign_messages_are_dead_letters_with_a_reason(topic, raw, reason):
    r = router()
    with pytest.raises(ContractError, match=reason):
        r.decode(topic, raw, NOW)


def test_no_content_escapes_as_anything_but_a_contract_error():
    r = router()
    for raw in (b'{"smoke": 1e400}', b'{"contact": NaN}', b"{" * 100_000, b'{"temperature": "1e999"}'):
        try:
            r.decode("zigbee2mqtt/x", raw, NOW)
        except ContractError:
            pass


def test_site_sources_validate_and_set_offline_limits():
    from ingest.core.site import Site

    def site(sensors, **extra):
        return Site.model_validate({"name": "t", "departments": [{"id": "d", "name": "D"}], **extra, "buildings": [
            {"id": "b", "name": "B", "use": "lab", "department": "d", "outline": [[0, 0], [1, 0], [1, 1]],
             "rooms": [{"id": "r", "name": "R", "use": "lab", "sensors": sensors}]}]})

    s = site([{"id": "s1", "kind": "smoke", "source": {"adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/s1"}},
              {"id": "s2", "kind": "smoke", "source": {"adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/s2",
                                                       "power": "mains"}},
              {"id": "s3", "kind": "lab", "metrics": ["gas_ppm.NH3"],
               "source": {"adapter": "chirpstack", "device": "0101AABB"}},
              {"id": "s4", "kind": "smoke"}])
    limits = {x.id: x.offline_after_s for x in s.sensors}
    assert limits == {"s1": 25 * 3600, "s2": 600, "s3": 3 * 3600, "s4": None}
    assert s.sensors[2].source.key == "0101aabb"
    tuned = site([{"id": "s1", "kind": "smoke", "source": {"adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/s1"}}],
                 adapters={"zigbee2mqtt": {"battery_offline_s": 7200}})
    assert tuned.sensors[0].offline_after_s == 7200
    with pytest.raises(ValueError, match="name the same device"):
        site([{"id": "a", "kind": "smoke", "source": {"adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/x"}},
              {"id": "b", "kind": "smoke", "source": {"adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/x"}}])
    with pytest.raises(ValueError, match="needs 'device'"):
        site([{"id": "a", "kind": "lab", "metrics": ["o2_pct"], "source": {"adapter": "chirpstack"}}])
    with pytest.raises(ValueError, match="no MQTT wildcards"):
        site([{"id": "a", "kind": "smoke", "source": {"adapter": "zigbee2mqtt", "topic": "zigbee2mqtt/#"}}])
    with pytest.raises(ValueError, match="unknown target"):
        site([{"id": "a", "kind": "lab", "metrics": ["o2_pct"],
               "source": {"adapter": "generic", "topic": "t", "fields": {"x": {"to": "o3"}}}}])


def test_the_stored_payload_is_the_json_of_the_event_with_its_source():
    r = router(("lab", "lab", "b", True, src(adapter="zigbee2mqtt", topic="zigbee2mqtt/lab")))
    for body in ({"temperature": 21, "humidity": 40.25, "battery": 90, "test": True},
                 {"temperature": 1e-7, "note": "引号\"和\\反斜杠"}):
        e = r.decode("zigbee2mqtt/lab", enc(body), NOW)
        stored = json.loads(e.raw_json)
        assert stored == json.loads(json.dumps(e.payload))  # the text is the payload, key for key
        assert stored["source"]["raw"] == body
    with pytest.raises(ContractError, match="out of range"):
        r.decode("zigbee2mqtt/lab", b'{"temperature": "1e999"}', NOW)


def test_an_offline_limit_reads_in_the_unit_people_say_it_in():
    from ingest.alarms.engine import _duration
    from ingest.alarms.messages import render

    assert _duration(25 * 3600) == {"limit": 25.0, "unit": "h"}
    assert _duration(600) == {"limit": 10.0, "unit": "min"}
    assert _duration(90) == {"limit": 90, "unit": "s"}
    assert render("offline_for", _duration(25 * 3600), "zh-CN") == "传感器超过 25 小时 未上报"
    assert render("offline_for", _duration(600), "en") == "Sensor silent for more than 10 min"
