"""Scale-out: two ingest workers and two dashboard workers on one broker and one database."""

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import urllib.request
from datetime import UTC, datetime

import psycopg

from ingest.alarms.engine import AlarmEngine
from ingest.app.embedded import pick_port, wait_for_port
from ingest.db.pool import open_pool
from ingest.db.registry import load_site
from ingest.mqtt.contract import decode, encode
from ingest.service.writer import BatchWriter
from tests.conftest import ROOT, wait_until
from tests.integration.conftest import broker_url
from tests.integration.helpers import (
    IngestProcess,
    WallScreen,
    alarms_for,
    now_ts,
    publish_all,
    publisher,
    scalar,
    stream,
    tiny_site,
)

SCREENS, DOORS, EVENTS = 6, 10, 10_000


def _stored(health_port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{health_port}/metrics", timeout=5).read().decode()
    return float(re.search(r"^safecampus_ingest_stored_total (\S+)$", text, re.M).group(1))


def test_two_ingest_and_two_dashboard_workers_store_once_and_every_screen_sees_every_alarm(
    db_url, own_broker, tmp_path
):
    tag = secrets.token_hex(3)
    with psycopg.connect(db_url) as conn:
        load_site(conn, tiny_site(tag, DOORS))
    url = broker_url(own_broker)
    group = f"g{tag}"
    workers = [IngestProcess(db_url, url, f"{name}-{tag}", group, tmp_path).start() for name in ("w1", "w2")]
    port = pick_port(0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {
        "SAFECAMPUS_DB_URL": db_url,
        "SAFECAMPUS_DASHBOARD_PORT": str(port),
        "SAFECAMPUS_DASHBOARD_WORKERS": "2",
        "SAFECAMPUS_KIOSK_TOKEN": "k-token",
        "SAFECAMPUS_SECRET_KEY": "shared-by-both-workers",
    }
    dash = subprocess.Popen(
        [sys.executable, "-m", "ingest.app.cli", "dashboard"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for_port(port, 30)
        screens = [WallScreen(port) for _ in range(SCREENS)]
        for s in screens:
            s.start()
        for s in screens:
            assert s.open.wait(20)
        # A sensor stream through the shared subscription, and alarms in the middle of it.
        thread, result = stream(url, f"lab{tag}", EVENTS)
        with publisher(url) as pub:
            publish_all(
                pub,
                [
                    (f"campus/v1/b{tag}/door/door{tag}-{n}", {"event_id": "t", "ts": now_ts(), "event": "tamper"})
                    for n in range(DOORS)
                ],
            )
        thread.join(120)
        assert result["error"] is None and result["published"] == EVENTS
        wait_until(
            lambda: scalar(db_url, "SELECT count(*) FROM events WHERE building_id = %s", (f"lab{tag}",)) >= EVENTS,
            120,
            0.2,
            what="the whole stream stored",
        )
        with psycopg.connect(db_url) as conn:
            total, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM events WHERE building_id = %s", (f"lab{tag}",)
            ).fetchone()
            alarm_ids = {r[0] for r in conn.execute("SELECT id FROM alarms WHERE sensor_id LIKE %s", (f"door{tag}-%",))}
        assert (total, distinct) == (EVENTS, EVENTS)  # nothing lost, nothing twice
        assert len(alarm_ids) == DOORS
        shares = [_stored(w.health_port) for w in workers]
        assert all(s > 0 for s in shares) and sum(shares) >= EVENTS + DOORS, shares  # both took part
        for s in screens:
            wait_until(
                lambda s=s: alarm_ids <= {c["id"] for c in s.changes},
                20,
                0.1,
                what="every alarm change on every wall screen",
            )
    finally:
        dash.send_signal(signal.SIGTERM)
        assert dash.wait(15) == 0
        for w in workers:
            assert w.stop() == 0


def test_two_workers_raising_fires_in_one_zone_at_once_confirm_both(db_url):
    """Two ingest workers (a shared subscription) each hold one detector's fire in a batch not yet
    committed: the second waits for the first's zone and sees its alarm, so both are confirmed. (Each
    once saw only its own, and a two-detector fire stayed unconfirmed.)
    """
    tag = secrets.token_hex(3)
    with psycopg.connect(db_url) as conn:
        load_site(conn, tiny_site(tag, doors=0, smoke=2))

    def fire(n):
        raw = encode({"event_id": secrets.token_hex(4), "ts": now_ts(), "state": "alarm"})
        return decode(f"campus/v1/b{tag}/smoke/r{tag}-smoke-{n}", raw, datetime.now(UTC))

    first_raised, release = threading.Event(), threading.Event()

    def hold_open(_conn, _inserted):  # the first worker's batch, its alarm raised, not yet committed
        first_raised.set()
        assert release.wait(30)

    pool = open_pool(db_url, max_size=2, name="test-fire-zone")
    errors: list[BaseException] = []

    def work(events, hooks):
        try:
            BatchWriter(pool, "fire-zone", hooks).write(events, [])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    try:
        one = threading.Thread(target=work, args=([fire(1)], [AlarmEngine().on_batch, hold_open]))
        one.start()
        assert first_raised.wait(30)
        two = threading.Thread(target=work, args=([fire(2)], [AlarmEngine().on_batch]))
        two.start()
        two.join(2)  # finishes here only if it did not wait for the first
        release.set()
        one.join(30)
        two.join(30)
    finally:
        release.set()
        pool.close()
    assert not errors
    for n in (1, 2):
        fires = [a for a in alarms_for(db_url, f"r{tag}-smoke-{n}") if a["condition"] == "fire"]
        assert [a["confirmed"] for a in fires] == [True], n
