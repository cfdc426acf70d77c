"""Notification logic without I/O: rate allotment, routing, steps, quiet hours, messages, signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, time, timedelta
from urllib.parse import unquote

import pytest

from ingest.core import clock
from ingest.notify import channels
from ingest.notify.compose import alarm_message, digest_message, step_kind
from ingest.notify.config import NotifyConfigError, parse, urgency
from ingest.notify.planner import quiet_until, step_offsets
from ingest.notify.sender import Due, allot

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
BASE = """
channels:
  robot: {type: wecom, url: "http://127.0.0.1:1/x", limit_per_min: 20, reserve_for_critical: 5}
recipients:
  duty: {channel: robot}
routes:
  - name: all
    steps: [{notify: [duty]}]
"""


def _due(n: int, urgency_: int) -> Due:
    return Due(n, n, "step-1", "duty", "robot", "zh-CN", urgency_, NOW, 0, False)


def _robot():
    return parse(BASE, "t.yaml").channels["robot"]


def test_under_the_limit_everything_goes_one_by_one():
    rows = [_due(i, 3) for i in range(10)]
    singles, digest, wait = allot(rows, 0, _robot())
    assert singles == rows and not digest and not wait


def test_a_flood_of_routine_alarms_becomes_one_digest_and_leaves_the_reserve():
    rows = [_due(i, 3) for i in range(100)]
    singles, digest, wait = allot(rows, 0, _robot())
    assert singles == [] and digest == rows and wait == []
    # later in the same minute: 14 used, only the critical reserve is left → routine waits
    singles, digest, wait = allot(rows, 15, _robot())
    assert singles == [] and digest == [] and wait == rows
    # ... and the digest pace holds routine messages between digests
    assert allot(rows, 0, _robot(), digest_ok=False) == ([], [], rows)


def test_fire_goes_first_and_uses_the_reserve_routine_may_not_touch():
    fire, routine = _due(1, 0), [_due(i, 3) for i in range(2, 50)]
    singles, digest, wait = allot([fire, *routine], 16, _robot())  # 4 slots left, all inside the reserve
    assert singles == [fire] and digest == [] and wait == routine


def test_more_urgent_messages_than_slots_fill_the_last_slot_with_a_digest():
    urgent = [_due(i, 1) for i in range(10)]
    singles, digest, wait = allot(urgent, 17, _robot())  # 3 slots
    assert singles == urgent[:2] and digest == urgent[2:] and wait == []
    assert allot(urgent, 20, _robot()) == ([], [], urgent)  # nothing left this minute: they wait, never dropped


def test_fire_alarm_is_most_urgent():
    assert urgency({"condition": "fire", "signal_class": "alarm", "priority": "critical"}) == 0
    assert urgency({"condition": "gas_high:NH3", "priority": "critical"}) == 1
    assert urgency({"condition": "door_forced", "priority": "high"}) == 2


@pytest.mark.parametrize(("text", "says"), [
    ("channels: {}\nrecipients: {a: {channel: nowhere}}", "no channel named nowhere"),
    (BASE.replace("notify: [duty]", "notify: [ghost]"), "no recipient named ghost"),
    (BASE.replace("type: wecom", "type: pager"), "type"),
    (BASE.replace("limit_per_min: 20", "limit_per_min: 20, colour: red"), "unknown key"),
    (BASE.replace('url: "http://127.0.0.1:1/x"', "url_env: X, url: http://a"), "exactly one of url or url_env"),
    (BASE.replace("steps: [{notify: [duty]}]", "steps: [{notify: [duty]}, {notify: [duty]}, {notify: [duty]}]"),
     "step 3 needs after_s"),
    (BASE + "    match: {kind: [fridge]}\n", "unknown sensor kind fridge"),
    ("channels: [", "not YAML"),
])
def test_a_wrong_file_says_where_and_what(text, says):
    with pytest.raises(NotifyConfigError) as err:
        parse(text, "notify.yaml")
    assert "notify.yaml" in str(err.value) and says in str(err.value)


def test_routes_match_on_every_field_and_drills_only_where_asked():
    cfg = parse(BASE + "    match: {priority: [critical, high], kind: [smoke], building: [chem], department: [d1],"
                       " signal_class: [alarm], condition: [fire]}\n", "t")
    alarm = {"priority": "critical", "sensor_kind": "smoke", "building_id": "chem", "department_id": "d1",
             "signal_class": "alarm", "condition": "fire", "drill": False}
    assert cfg.routes_for(alarm)
    for key, other in (("priority", "low"), ("sensor_kind", "door"), ("building_id", "lib"),
                       ("department_id", "d2"), ("signal_class", "trouble"), ("condition", "smoke_fault"),
                       ("drill", True)):
        assert not cfg.routes_for(alarm | {key: other}), key
    gas = parse(BASE + "    match: {condition: [gas_high]}\n", "t")
    assert gas.routes_for({"condition": "gas_high:NH3", "drill": False})


def test_steps_two_at_escalation_and_later_ones_after_the_one_before():
    cfg = parse(BASE.replace("steps: [{notify: [duty]}]", "steps: [{notify: [duty]}, {notify: [duty]}, "
                                                           "{notify: [duty], after_s: 600}, "
                                                           "{notify: [duty], after_s: 300}]"), "t")
    assert step_offsets(cfg.routes[0]) == [None, 0.0, 600.0, 900.0]
    assert [step_kind(s) for s in ("step-1", "step-2", "step-4", "remind-3", "re-alarm-7", "closed")] == [
        "step-1", "step-2", "step-n", "remind", "re-alarm", "closed"]


def test_quiet_hours_are_campus_time_and_cross_midnight():
    clock.use_campus_zone("Asia/Shanghai")
    cfg = parse(BASE + "    quiet_hours: {start: '22:00', end: '07:00'}\n", "t")
    route = cfg.routes[0]
    at_23 = clock.as_campus(datetime(2026, 12, 6, 23, 30))
    end = quiet_until(route, at_23)
    assert end is not None and clock.local(end).time() == time(7, 0) and clock.local(end).day == 7
    at_3 = clock.as_campus(datetime(2026, 12, 7, 3, 0))
    assert clock.local(quiet_until(route, at_3)).day == 7  # type: ignore[arg-type]
    assert quiet_until(route, clock.as_campus(datetime(2026, 12, 6, 12, 0))) is None
    # 23:30 in Shanghai is 15:30 UTC: a server in UTC must not call it daytime
    assert quiet_until(route, datetime(2026, 12, 6, 15, 30, tzinfo=UTC)) is not None


def _alarm(**extra):
    return {"id": 42, "priority": "critical", "signal_class": "alarm", "condition": "fire", "state": "active_unacked",
            "building_id": "chem", "building": "Chemistry building", "building_zh": "化学楼", "floor": 3,
            "room": "Lab 301", "room_zh": "301 实验室", "sensor_id": "s1", "sensor_name": None,
            "message_key": "fire", "message_params": {}, "message": "Fire alarm", "drill": False,
            "raised_at": NOW - timedelta(minutes=3), "acked_by": None, "closed_by": None,
            "procedure": [{"step": "Confirm", "texts": {"en": "Confirm by camera", "zh-CN": "通过监控确认"}}]} | extra


def test_a_message_says_where_what_since_when_the_first_step_and_links_the_alarm():
    clock.use_campus_zone("Asia/Shanghai")
    zh = alarm_message(_alarm(), "step-1", "zh-CN", "http://c:8050/", NOW)
    assert "化学楼" in zh.title and "301 实验室" in zh.text() and "通过监控确认" in zh.text()
    assert "19:57:00" in zh.text()  # campus time (UTC+8), not the server's
    assert zh.url == "http://c:8050/console?alarm=42" and "](http://c:8050/console?alarm=42)" in zh.markdown()
    en = alarm_message(_alarm(), "step-2", "en", "http://c", NOW, {"limit": 60})
    assert "Chemistry building" in en.title and "not acknowledged within 60 s" in en.title
    ack = alarm_message(_alarm(acked_by="officer7"), "acknowledged", "en", "http://c", NOW)
    assert "officer7" in ack.title and "Confirm by camera" not in ack.text()


def test_a_digest_counts_by_building_puts_fire_first_and_says_how_many_more():
    alarms = [_alarm(id=i, condition="door_forced", priority="high", raised_at=NOW - timedelta(seconds=i))
              for i in range(30)] + [_alarm(id=99)]
    msg = digest_message(alarms, "en", "http://c")
    assert msg.title.startswith("31 new alarms in Chemistry building, 1 critical")
    assert "fire" in msg.lines[0] and msg.lines[-1] == "+21 more" and msg.facts["alarm_ids"][0] == 99


def test_text_is_cut_on_a_character_boundary_within_the_robots_limits():
    text = "火" * 3000
    cut = channels.fit(text, channels.WECOM_MARKDOWN_BYTES)
    assert len(cut.encode()) <= 4096 and cut.endswith(" …")


def test_signatures_follow_the_documented_recipes():
    ts = 1_700_000_000_000
    want = base64.b64encode(hmac.new(b"SECx", f"{ts}\nSECx".encode(), hashlib.sha256).digest()).decode()
    assert unquote(channels.dingtalk_sign("SECx", ts)) == want
    fs = base64.b64encode(hmac.new(b"1700000000\nk", b"", hashlib.sha256).digest()).decode()
    assert channels.feishu_sign("k", 1_700_000_000) == fs
    body = b'{"a":1}'
    assert channels.webhook_signature("k", 5, body) == "sha256=" + hmac.new(b"k", b"5." + body,
                                                                             hashlib.sha256).hexdigest()


def test_steps_read_as_words_in_each_language():
    from ingest.alarms.messages import render, step_label

    assert [step_label(s, "en") for s in ("step-2", "remind-3", "re-alarm-7", "digest")] == [
        "step 2", "reminder 3", "re-alarm", "digest"]
    assert step_label("step-2", "zh-CN") == "第 2 步" and step_label("remind-3", "zh-CN") == "第 3 次提醒"
    assert render("notified", {"recipient": "duty", "channel": "wecom", "step": "step-1"}, "en") == (
        "duty told via wecom (step 1)")
