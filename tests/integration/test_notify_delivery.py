"""Nothing lost, nothing twice: kill -9 the real `safecampus ingest` while its notifier is
delivering, start it again, and every (alarm, step, recipient) reaches the receiver; a message
that was on the wire is sent again under the same id, marked in doubt."""

from __future__ import annotations

import secrets
from collections import Counter

import psycopg
import yaml

from ingest.core.site import Site
from ingest.db.registry import load_site
from tests.conftest import wait_until
from tests.integration.helpers import IngestProcess, now_ts, publish_all, publisher, scalar
from tests.integration.receivers import HookReceiver

N = 30


def test_kill9_mid_delivery_then_restart_delivers_each_notification(db_url, mqtt_url, tmp_path):
    tag = secrets.token_hex(3)
    bid = f"k{tag}"
    with psycopg.connect(db_url) as conn:
        load_site(conn, Site.model_validate({
            "name": "t", "departments": [{"id": f"d{tag}", "name": "D"}],
            "buildings": [{"id": bid, "name": "K", "use": "lab", "department": f"d{tag}", "floors": 1,
                           "outline": [[0, 0], [1, 0], [1, 1]],
                           "rooms": [{"id": f"r{bid}", "name": "Lab", "use": "lab", "floor": 0,
                                      "sensors": [{"kind": "smoke", "count": N}]}]}]}))
    rx = HookReceiver().start()
    rx.delay_s["/hook/slow"] = 0.15  # a slow receiver: the batch is on the wire for seconds
    path = tmp_path / "notify.yaml"
    path.write_text(yaml.safe_dump({
        "channels": {"slow": {"type": "webhook", "url": rx.url("/hook/slow")}},
        "recipients": {"duty": {"channel": "slow"}, "chief": {"channel": "slow", "language": "en"}},
        "routes": [{"name": "all", "steps": [{"notify": ["duty", "chief"]}]}]}), encoding="utf-8")
    proc = IngestProcess(db_url, mqtt_url, f"k{tag}", f"g{tag}", tmp_path, notify_file=str(path)).start()
    try:
        with publisher(mqtt_url) as pub:
            publish_all(pub, [(f"campus/v1/{bid}/smoke/r{bid}-smoke-{n}",
                               {"event_id": secrets.token_hex(6), "ts": now_ts(), "state": "alarm"})
                              for n in range(N)])
        wait_until(lambda: len(rx.on("/hook/slow")) >= 10, 20, what="deliveries to start")
        proc.kill9()
        before = len(rx.on("/hook/slow"))
        assert before < 2 * N, "the kill came too late to test anything"
        proc.start()

        def planned() -> set[tuple[int, str, str]] | None:
            """Every (alarm, step, recipient) planned for this building, once all are sent."""
            with psycopg.connect(db_url) as conn:
                rows = conn.execute("SELECT n.alarm_id, n.step, n.recipient, n.status FROM notifications n "
                                    "JOIN alarms a ON a.id = n.alarm_id WHERE a.building_id = %s", (bid,)).fetchall()
            if len(rows) < 2 * N or any(status != "sent" for *_k, status in rows):
                return None
            return {(a, step, who) for a, step, who, _s in rows}

        def received() -> set[tuple[int, str, str]]:
            return {(r["body"]["facts"]["alarm_id"], r["body"]["step"], r["body"]["recipient"])
                    for r in rx.on("/hook/slow")}

        # Each alarm's raise goes to both recipients; a 'confirmed' step goes to those already told
        # when a second detector confirmed it after its raise was planned (how the messages fell
        # into batches and outbox rounds decides how many): whatever was planned must arrive.
        wait_until(lambda: (want := planned()) is not None and want <= received(), 40, 0.2,
                   what="every planned notification after the restart",
                   describe=lambda: f"{len(received())} received, planned {planned()!r:.200}")
        want = planned()
        assert want is not None
        got = rx.on("/hook/slow")
        keys = Counter((r["body"]["facts"]["alarm_id"], r["body"]["step"], r["body"]["recipient"]) for r in got)
        alarms = scalar(db_url, "SELECT count(*) FROM alarms WHERE building_id = %s", (bid,))
        assert alarms == N and set(keys) == want  # each (alarm, step, recipient) arrived, nothing else
        assert sum(1 for _a, step, _w in want if step == "step-1") == 2 * N  # every alarm's raise to both
        repeats = [r for r in got if keys[(r["body"]["facts"]["alarm_id"], r["body"]["step"],
                                           r["body"]["recipient"])] > 1]
        # At most the one that was on the wire at the kill arrives twice, and its second copy says so.
        assert len(repeats) <= 2, repeats
        assert all(r["body"]["in_doubt"] for r in repeats[1:])
        assert len({r["body"]["id"] for r in repeats}) <= 1
        # the receiver logs a request before it answers: the last 'sent' may commit a moment later
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM notifications n JOIN alarms a ON a.id = n.alarm_id "
                                          "WHERE a.building_id = %s AND n.status = 'sent'", (bid,)) == len(want), 10,
                   what="every notification marked sent")
        assert not rx.problems, rx.problems
    finally:
        proc.stop()
        rx.stop()
