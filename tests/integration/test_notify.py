"""Notifications through the real `safecampus ingest`, a real broker and database, and local
receivers: payload shapes and signatures per channel, escalation steps on event time, retries,
floods within a robot's rate with digests and the fire alarm first."""

from __future__ import annotations

import secrets
import time

import psycopg
import pytest
import yaml
from psycopg.rows import dict_row

from dashboard.report.weekly import build as weekly_review
from ingest.alarms import actions
from ingest.alarms.engine import load_procedures
from ingest.app.embedded import pick_port
from ingest.core.site import Site
from ingest.db.registry import load_site
from tests.conftest import wait_until
from tests.integration.helpers import IngestProcess, now_ts, publish_all, publisher, scalar
from tests.integration.receivers import HookReceiver, MailReceiver

TAG = secrets.token_hex(3)
B = {k: f"{k}{TAG}" for k in ("chan", "esc", "retry", "flood", "dead", "dig")}
SECRETS = {"T_DING_SECRET": secrets.token_hex(8), "T_FEISHU_SECRET": secrets.token_hex(8),
           "T_HOOK_SECRET": secrets.token_hex(8), "T_WECOM_URL": "", "T_SMTP_PASSWORD": "pw"}


def _site() -> Site:
    def building(bid: str, name: str, name_zh: str, doors: int = 0) -> dict:
        return {"id": bid, "name": name, "name_zh": name_zh, "use": "lab", "department": f"chem{TAG}", "floors": 4,
                "outline": [[0, 0], [1, 0], [1, 1]],
                "rooms": [{"id": f"r{bid}", "name": "Lab 301", "name_zh": "301 实验室", "use": "lab", "floor": 3,
                           "sensors": [{"kind": "smoke", "count": 2}]
                           + [{"kind": "door", "id": f"{bid}-door{n}"} for n in range(doors)]}]}

    return Site.model_validate({"name": "t", "departments": [{"id": f"chem{TAG}", "name": "Chemistry",
                                                              "name_zh": "化学系"}],
                                "buildings": [building(B["chan"], "Chemistry building", "化学楼"),
                                              building(B["esc"], "Escalation hall", "升级楼"),
                                              building(B["retry"], "Retry hall", "重试楼"),
                                              building(B["flood"], "Flood hall", "洪水楼", doors=200),
                                              building(B["dead"], "Dead hall", "故障楼"),
                                              building(B["dig"], "Digest hall", "汇总楼", doors=3)]})


def _config(rx: HookReceiver, mail: MailReceiver) -> dict:
    hook = {"type": "webhook", "secret_env": "T_HOOK_SECRET"}
    return {
        "console_url": "http://console.example:8050",
        "retry": {"first_s": 0.5, "max_s": 2},
        "channels": {
            "wecom-md": {"type": "wecom", "url_env": "T_WECOM_URL"},
            "wecom-at": {"type": "wecom", "url": rx.url("/wecom/at?key=k2"), "mention_mobiles": ["13800000000"]},
            "ding": {"type": "dingtalk", "url": rx.url("/dingtalk/send?access_token=t"), "secret_env": "T_DING_SECRET",
                     "mention_mobiles": ["13900000000"]},
            "feishu": {"type": "feishu", "url": rx.url("/feishu/hook"), "secret_env": "T_FEISHU_SECRET"},
            "hook": hook | {"url": rx.url("/hook/sms")},
            "mail": {"type": "email", "host": "127.0.0.1", "port": mail.port, "security": "none",
                     "username": "alarms", "password_env": "T_SMTP_PASSWORD", "sender": "safecampus@campus.test",
                     "to": ["chief@campus.test"]},
            "duty": hook | {"url": rx.url("/hook/duty")},
            "super": hook | {"url": rx.url("/hook/super")},
            "head": hook | {"url": rx.url("/hook/head")},
            "flaky": hook | {"url": rx.url("/hook/flaky")},
            "digest-hook": hook | {"url": rx.url("/hook/digest")},
            "gone": hook | {"url": f"http://127.0.0.1:{pick_port(0)}/nobody-listens", "timeout_s": 1},
            "robot": {"type": "wecom", "url": rx.url("/wecom/flood"), "limit_per_min": 20, "reserve_for_critical": 5,
                      "digest_every_s": 4},
        },
        "recipients": {
            "r-wecom-md": {"channel": "wecom-md", "language": "zh-CN"},
            "r-wecom-at": {"channel": "wecom-at", "language": "zh-CN"},
            "r-ding": {"channel": "ding", "language": "zh-CN"},
            "r-feishu": {"channel": "feishu", "language": "en"},
            "r-sms": {"channel": "hook", "language": "zh-CN"},
            "r-mail": {"channel": "mail", "language": "en"},
            "duty-officer": {"channel": "duty", "language": "zh-CN"},
            "supervisor": {"channel": "super", "language": "zh-CN"},
            "chem-head": {"channel": "head", "language": "en"},
            "flaky": {"channel": "flaky", "language": "en"},
            "gone": {"channel": "gone", "language": "en"},
            "robot": {"channel": "robot", "language": "zh-CN"},
        },
        "routes": [
            {"name": "every channel", "match": {"building": [B["chan"]]},
             "steps": [{"notify": ["r-wecom-md", "r-wecom-at", "r-ding", "r-feishu", "r-sms", "r-mail"]}]},
            {"name": "chain", "match": {"building": [B["esc"]]}, "remind_every_s": 30,
             "steps": [{"notify": ["duty-officer"]}, {"notify": ["supervisor"]},
                       {"notify": ["chem-head"], "after_s": 3}]},
            {"name": "flaky", "match": {"building": [B["retry"]]}, "steps": [{"notify": ["flaky"]}]},
            {"name": "gone", "match": {"building": [B["dead"]]}, "steps": [{"notify": ["gone"]}]},
            {"name": "flood", "match": {"building": [B["flood"]]}, "remind_every_s": None,
             "steps": [{"notify": ["robot"]}]},
            {"name": "drills", "match": {"building": [B["chan"]], "drill": True}, "steps": [{"notify": ["r-sms"]}]},
        ],
    }


@pytest.fixture(scope="module")
def world(db_url, mqtt_url, tmp_path_factory):
    rx = HookReceiver(dingtalk_secret=SECRETS["T_DING_SECRET"], feishu_secret=SECRETS["T_FEISHU_SECRET"],
                      webhook_secret=SECRETS["T_HOOK_SECRET"]).start()
    mail = MailReceiver().start()
    tmp = tmp_path_factory.mktemp("notify")
    path = tmp / "notify.yaml"
    path.write_text(yaml.safe_dump(_config(rx, mail)), encoding="utf-8")
    with psycopg.connect(db_url) as conn:
        load_site(conn, _site())
    proc = IngestProcess(db_url, mqtt_url, f"n{TAG}", f"g{TAG}", tmp, notify_file=str(path),
                         escalate_critical_s="3", site_language="en")
    proc.env |= SECRETS | {"T_WECOM_URL": rx.url("/wecom/md?key=k1")}
    proc.start()
    try:
        yield rx, mail, proc
    finally:
        proc.stop()
        rx.stop()
        mail.stop()
        assert not rx.problems, rx.problems


def _smoke(building: str, n: int, state: str = "alarm", ts: str | None = None, drill: bool = False):
    return (f"campus/v1/{building}/smoke/r{building}-smoke-{n}",
            {"event_id": secrets.token_hex(6), "ts": ts or now_ts(), "state": state, "drill": drill})


def _alarm(db_url: str, sensor: str) -> dict:
    def find():
        with psycopg.connect(db_url, row_factory=dict_row) as conn:
            return conn.execute("SELECT * FROM alarms WHERE sensor_id = %s ORDER BY id DESC", (sensor,)).fetchone()
    return wait_until(find, 10, 0.1, what=f"an alarm on {sensor}")


def test_each_channel_gets_its_own_payload_shape_signed_in_its_recipients_language(world, db_url, mqtt_url):
    rx, mail, _proc = world
    with publisher(mqtt_url) as pub:
        publish_all(pub, [_smoke(B["chan"], 0)])
    alarm = _alarm(db_url, f"r{B['chan']}-smoke-0")
    wait_until(lambda: len(rx.on("/wecom/")) >= 2 and rx.on("/dingtalk/") and rx.on("/feishu/")
               and rx.on("/hook/sms") and mail.messages, 15, what="every channel to be told",
               describe=lambda: f"requests {[r['path'] for r in rx.requests]}, mails {len(mail.messages)}")
    assert not rx.problems, rx.problems
    first_zh, first_en = (load_procedures()["fire"][0][lang] for lang in ("zh-CN", "en"))
    link = f"http://console.example:8050/console?alarm={alarm['id']}"
    md = rx.on("/wecom/md")[0]["body"]
    assert md["msgtype"] == "markdown" and "化学楼" in md["markdown"]["content"]
    assert first_zh in md["markdown"]["content"] and f"]({link})" in md["markdown"]["content"]
    at = rx.on("/wecom/at")[0]["body"]
    assert at["msgtype"] == "text" and at["text"]["mentioned_mobile_list"] == ["13800000000"]
    ding = rx.on("/dingtalk/")[0]
    assert ding["body"]["at"]["atMobiles"] == ["13900000000"] and "@13900000000" in ding["body"]["markdown"]["text"]
    assert ding["query"]["access_token"] == "t" and "化学楼" in ding["body"]["markdown"]["title"]
    feishu = rx.on("/feishu/")[0]["body"]["content"]["text"]
    assert "Chemistry building" in feishu and first_en in feishu and link in feishu
    sms = rx.on("/hook/sms")[0]["body"]
    assert sms["kind"] == "alarm" and sms["step"] == "step-1" and sms["facts"]["alarm_id"] == alarm["id"]
    assert sms["facts"]["priority"] == "critical" and sms["language"] == "zh-CN" and sms["in_doubt"] is False
    msg = mail.messages[0]
    assert mail.logins == ["alarms"] and msg["To"] == "chief@campus.test"
    assert "Chemistry building" in msg["Subject"] and link in msg.get_content()
    # the journal says who was told, one entry per recipient
    told = scalar(db_url, "SELECT count(*) FROM alarm_journal WHERE alarm_id = %s AND action = 'notified'",
                  (alarm["id"],))
    assert told == 6
    # a drill goes only where drills are asked for
    with publisher(mqtt_url) as pub:
        publish_all(pub, [_smoke(B["chan"], 1, drill=True)])
    drill = _alarm(db_url, f"r{B['chan']}-smoke-1")
    wait_until(lambda: any(r["body"]["facts"].get("alarm_id") == drill["id"] for r in rx.on("/hook/sms")), 10,
               what="the drill on the drill route")
    time.sleep(1.0)
    assert scalar(db_url, "SELECT count(*) FROM notifications WHERE alarm_id = %s", (drill["id"],)) == 1


def test_escalation_chain_runs_on_event_time_and_updates_reach_those_told(world, db_url, mqtt_url):
    rx, _mail, _proc = world
    sensor = f"r{B['esc']}-smoke-0"
    # The fire started 70 s ago by event time (a gateway buffered it); a fresh event from another
    # sensor moves event time to now: escalation (3 s limit) and the second reminder are due at once.
    with publisher(mqtt_url) as pub:
        publish_all(pub, [_smoke(B["esc"], 0, ts=now_ts(-70)), _smoke(B["esc"], 1, state="normal")])
    alarm = _alarm(db_url, sensor)

    def steps(path: str) -> list[str]:
        return [r["body"]["step"] for r in rx.on(path) if r["body"]["facts"].get("alarm_id") == alarm["id"]]

    def arrived(path: str, step: str) -> float:
        return next(r["at"] for r in rx.on(path) if r["body"]["facts"].get("alarm_id") == alarm["id"]
                    and r["body"]["step"] == step)

    wait_until(lambda: "step-1" in steps("/hook/duty") and "step-2" in steps("/hook/super"), 10,
               what="steps 1 and 2", describe=lambda: f"duty {steps('/hook/duty')}, super {steps('/hook/super')}")
    wait_until(lambda: "remind-2" in steps("/hook/duty"), 10, what="the reminder due by event time")
    wait_until(lambda: "step-3" in steps("/hook/head"), 10, what="step 3")
    # step 2 went out at once (event time was already 70 s past the raise), step 3 its 3 s later
    assert arrived("/hook/super", "step-2") - arrived("/hook/duty", "step-1") < 2.5
    assert 2.5 <= arrived("/hook/head", "step-3") - arrived("/hook/super", "step-2") < 6
    head = next(r["body"] for r in rx.on("/hook/head") if r["body"]["step"] == "step-3")
    assert head["language"] == "en" and "Escalated again" in head["title"]
    with psycopg.connect(db_url) as conn:
        actions.acknowledge(conn, alarm["id"], "officer1", "on my way")
    for path in ("/hook/duty", "/hook/super", "/hook/head"):
        wait_until(lambda p=path: "acknowledged" in steps(p), 10, what=f"acknowledgement on {path}")
    ack = next(r["body"] for r in rx.on("/hook/head") if r["body"]["step"] == "acknowledged")
    assert "officer1" in ack["title"]
    # every (alarm, step, recipient) once
    rows = scalar(db_url, "SELECT count(*) - count(DISTINCT (step, recipient)) FROM notifications "
                          "WHERE alarm_id = %s", (alarm["id"],))
    assert rows == 0 and len(steps("/hook/duty")) == len(set(steps("/hook/duty")))


def test_a_receiver_that_fails_then_recovers_gets_the_message_once(world, db_url, mqtt_url):
    rx, _mail, _proc = world
    rx.fail_first["/hook/flaky"] = 2
    with publisher(mqtt_url) as pub:
        publish_all(pub, [_smoke(B["retry"], 0)])
    alarm = _alarm(db_url, f"r{B['retry']}-smoke-0")
    wait_until(lambda: scalar(db_url, "SELECT status FROM notifications WHERE alarm_id = %s", (alarm["id"],))
               == "sent", 15, what="the retried notification to be sent")
    with psycopg.connect(db_url) as conn:
        tries = conn.execute("SELECT a.ok, a.status FROM notification_attempts a JOIN notifications n "
                             "ON n.id = a.notification_id WHERE n.alarm_id = %s ORDER BY a.id",
                             (alarm["id"],)).fetchall()
    assert tries == [(False, "500"), (False, "500"), (True, "200")]
    assert len(rx.on("/hook/flaky")) == 3  # two refused, one taken


def test_a_flood_stays_within_the_robots_rate_with_digests_and_the_fire_alarm_first(world, db_url, mqtt_url):
    rx, _mail, _proc = world
    flood = B["flood"]
    doors = [(f"campus/v1/{flood}/door/{flood}-door{n}",
              {"event_id": secrets.token_hex(6), "ts": now_ts(), "event": "door_forced"}) for n in range(200)]
    started = time.time()
    with publisher(mqtt_url) as pub:
        publish_all(pub, doors[:120])
        fire_at = time.time()
        publish_all(pub, [_smoke(flood, 0)])
        publish_all(pub, doors[120:])
    fire = _alarm(db_url, f"r{flood}-smoke-0")

    def covered() -> int:
        return int(scalar(db_url, "SELECT count(DISTINCT n.alarm_id) FROM notifications n "
                                  "LEFT JOIN notifications d ON d.id = n.digest_id "
                                  "JOIN alarms a ON a.id = n.alarm_id WHERE a.building_id = %s "
                                  "AND (n.status = 'sent' OR d.status = 'sent')", (flood,)))

    wait_until(lambda: covered() == 201, 40, 0.25, what="every flood alarm told, one by one or in a digest",
               describe=lambda: f"{covered()} covered, {len(rx.on('/wecom/flood'))} requests")
    got = rx.on("/wecom/flood")
    assert len(got) <= 20, f"{len(got)} requests to a robot that takes 20 a minute"
    assert time.time() - started < 60  # all inside one rate window
    digests = [r for r in got if r["body"]["markdown"]["content"].endswith("/console)")]  # no ?alarm=: many
    assert digests, "no digest in the flood"
    fire_msg = [r for r in got if f"alarm={fire['id']})" in r["body"]["markdown"]["content"]]
    assert fire_msg and fire_msg[0]["at"] - fire_at < 3, "the fire alarm waited behind routine ones"


def test_a_failing_channel_shows_in_health_metrics_the_weekly_review_and_keeps_being_tried(world, db_url, mqtt_url):
    import urllib.request

    from ingest.core import clock

    _rx, _mail, proc = world
    with publisher(mqtt_url) as pub:
        publish_all(pub, [_smoke(B["dead"], 0)])
    alarm = _alarm(db_url, f"r{B['dead']}-smoke-0")
    wait_until(lambda: "gone" in (proc.health().get("notify") or {}).get("failing", []), 20,
               what="health to name the failing channel", describe=lambda: str(proc.health().get("notify")))
    with urllib.request.urlopen(f"http://127.0.0.1:{proc.health_port}/metrics", timeout=5) as r:
        metrics = r.read().decode()
    assert 'safecampus_notify_channel_up{channel="gone"} 0.0' in metrics
    assert 'safecampus_notify_failed_total{channel="gone"}' in metrics
    wait_until(lambda: scalar(db_url, "SELECT count(*) FROM notification_attempts a JOIN notifications n "
                                      "ON n.id = a.notification_id WHERE n.alarm_id = %s", (alarm["id"],)) >= 2,
               15, what="a second try after the back-off")
    assert scalar(db_url, "SELECT status FROM notifications WHERE alarm_id = %s", (alarm["id"],)) == "pending"
    week = clock.local(alarm["raised_at"]).isocalendar()
    with psycopg.connect(db_url) as conn:
        report = weekly_review(conn, f"{week.year}-W{week.week:02d}")
    per_channel = {c: (ok, bad) for c, ok, bad in report["notifications"]}
    assert per_channel["gone"][0] == 0 and per_channel["gone"][1] >= 2
    assert per_channel["hook"][0] >= 1  # the SMS gateway of the first test


def test_a_digest_sent_again_still_speaks_of_its_alarms(world, db_url, mqtt_url):
    rx, _mail, _proc = world
    dig = B["dig"]  # no route: its alarms are told only through the digest this test leaves behind
    with publisher(mqtt_url) as pub:
        publish_all(pub, [(f"campus/v1/{dig}/door/{dig}-door{n}",
                           {"event_id": secrets.token_hex(6), "ts": now_ts(), "event": "door_forced"})
                          for n in range(3)])
    ids = sorted(_alarm(db_url, f"{dig}-door{n}")["id"] for n in range(3))
    # What a sender leaves when it dies with a digest on the wire (or when a digest failed and waits):
    # the digest row to send again, its alarms' rows pointing at it.
    with psycopg.connect(db_url) as conn, conn.transaction():
        digest = conn.execute("INSERT INTO notifications (step, recipient, channel, language, urgency, status, "
                              "attempts, in_doubt) VALUES ('digest', 'r-digest', 'digest-hook', 'en', 2, "
                              "'pending', 1, true) RETURNING id").fetchone()[0]
        for alarm_id in ids:
            conn.execute("INSERT INTO notifications (alarm_id, step, recipient, channel, language, urgency, "
                         "status, digest_id) VALUES (%s, 'step-1', 'r-digest', 'digest-hook', 'en', 2, "
                         "'digested', %s)", (alarm_id, digest))
        conn.execute("SELECT pg_notify('safecampus_notify', '')")
    wait_until(lambda: rx.on("/hook/digest"), 10, what="the digest sent again")
    body = rx.on("/hook/digest")[0]["body"]
    assert body["kind"] == "digest" and body["id"] == str(digest) and body["in_doubt"] is True
    assert sorted(body["facts"]["alarm_ids"]) == ids and body["title"].startswith("3 new alarms in Digest hall")
    wait_until(lambda: scalar(db_url, "SELECT count(*) FROM notifications WHERE digest_id = %s AND sent_at IS NOT "
                                      "NULL", (digest,)) == 3, 10, what="its alarms marked told")
