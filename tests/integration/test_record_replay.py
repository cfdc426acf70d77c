"""Record live traffic, replay it: the same events are stored, and the same alarms raised."""

import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg

from ingest.core.sitefile import load_site
from ingest.mqtt.contract import encode
from sensors_sim.life import CampusLife
from tests.conftest import ROOT, wait_until
from tests.integration.helpers import publish_all, publisher, run_cli, running_ingest, scalar


def test_record_then_replay_stores_the_same_events(make_settings, db_url, mqtt_url, tmp_path):
    rec = tmp_path / "feed.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {
        "SAFECAMPUS_DB_URL": db_url,
        "SAFECAMPUS_MQTT_URL": mqtt_url,
        "SAFECAMPUS_INGEST_ID": f"r{secrets.token_hex(3)}",
    }
    recorder = subprocess.Popen(
        [sys.executable, "-m", "ingest.app.cli", "sim", "record", str(rec)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(2)
        life = CampusLife(load_site(), seed=11, start=datetime.now(UTC) - timedelta(minutes=5))
        feed = [(m.topic, encode(m.payload)) for m in itertools.islice(life, 300)]
        feed.append(("campus/v1/bad/smoke/x1", b"{not json"))  # a bad one is recorded and replayed too
        with publisher(mqtt_url) as pub:
            publish_all(pub, feed)
        wait_until(lambda: rec.exists() and len(rec.read_text().splitlines()) >= len(feed), 15, what="recording")
        recorder.send_signal(signal.SIGINT)
        assert recorder.wait(15) == 0
    finally:
        if recorder.poll() is None:
            recorder.kill()
    assert f"recorded {len(feed)} messages" in recorder.stdout.read()

    with running_ingest(make_settings()):
        out = subprocess.run(
            [sys.executable, "-m", "ingest.app.cli", "sim", "replay", str(rec), "--speed", "1000"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM events") >= 300, 20, what="replayed events stored")
        wait_until(
            lambda: scalar(db_url, "SELECT count(*) FROM dead_letters WHERE topic = 'campus/v1/bad/smoke/x1'") == 1, 10
        )
        # Replaying the same recording again stores nothing new: same events, same ids.
        subprocess.run(
            [sys.executable, "-m", "ingest.app.cli", "sim", "replay", str(rec), "--speed", "1000"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )
        time.sleep(1.5)
    with psycopg.connect(db_url) as conn:
        stored = {(r[0], r[1]) for r in conn.execute("SELECT sensor_id, event_id FROM events")}
    expected = {
        (m.topic.rsplit("/", 1)[1], m.payload["event_id"])
        for m in itertools.islice(CampusLife(load_site(), seed=11, start=life.start), 300)
    }
    assert stored == expected
    # --shift-to-now --drill makes new, marked events of the same feed.
    with running_ingest(make_settings()):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ingest.app.cli",
                "sim",
                "replay",
                str(rec),
                "--speed",
                "1000",
                "--shift-to-now",
                "--drill",
            ],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM events WHERE drill") >= 300, 20, what="drill replay")
    newest = scalar(db_url, "SELECT max(time) FROM events WHERE drill")
    assert abs((newest - datetime.now(UTC)).total_seconds()) < 60


def test_replay_from_stored_events_of_a_time_range(make_settings, db_url, mqtt_url, tmp_path, pg_admin_url):
    from ingest.db.migrate import migrate
    from tests.conftest import temporary_database

    # Events stored in this module's database are replayed into a second, empty one.
    since = scalar(db_url, "SELECT min(time) FROM events WHERE NOT drill")
    until = since + timedelta(minutes=2)
    expected = scalar(
        db_url, "SELECT count(*) FROM events WHERE NOT drill AND time >= %s AND time < %s", (since, until)
    )
    assert expected > 10
    with temporary_database(pg_admin_url, "rp") as target_url:
        migrate(target_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
        env |= {"SAFECAMPUS_DB_URL": db_url, "SAFECAMPUS_MQTT_URL": mqtt_url}
        with running_ingest(make_settings(db_url=target_url)):
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ingest.app.cli",
                    "sim",
                    "replay",
                    "--from-db",
                    "--since",
                    since.isoformat(),
                    "--until",
                    until.isoformat(),
                    "--speed",
                    "1000",
                ],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert out.returncode == 0, out.stderr[-2000:]
            assert f"replayed {expected} of {expected} messages" in out.stdout
            wait_until(
                lambda: scalar(target_url, "SELECT count(*) FROM events") == expected, 20, what="replayed events"
            )


def _recording(path, n, seed):
    life = CampusLife(load_site(), seed=seed, start=datetime.now(UTC) - timedelta(minutes=30))
    import json as _json

    with path.open("w") as f:
        for i, m in enumerate(itertools.islice(life, n)):
            f.write(
                _json.dumps({"t": 1_700_000_000 + i * 0.001, "topic": m.topic, "text": encode(m.payload).decode()})
                + "\n"
            )


def test_two_replays_at_once_deliver_everything_and_report_it(make_settings, db_url, own_broker, tmp_path):
    # Both once used the client id "safecampus-sim-replay": the broker threw one off for the other,
    # again and again, and what either had in flight was lost while both said "replayed N of N".
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    # A broker configured as we ship it (the machine's default one drops QoS 1 messages past
    # 1,000 queued for a client that falls behind, whatever the publisher was told).
    from tests.integration.conftest import broker_url

    mqtt_url = broker_url(own_broker)
    env |= {"SAFECAMPUS_DB_URL": db_url, "SAFECAMPUS_MQTT_URL": mqtt_url}
    files = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    _recording(files[0], 5000, seed=101)
    _recording(files[1], 5000, seed=202)
    before = scalar(db_url, "SELECT count(*) FROM events")
    with running_ingest(make_settings(mqtt_url=mqtt_url)) as service:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "ingest.app.cli", "sim", "replay", str(f), "--speed", "1000"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for f in files
        ]
        outs = [p.communicate(timeout=180)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert all("replayed 5000 of 5000 messages" in o and "NOT DELIVERED" not in o for o in outs), outs
        def accounted() -> str:  # what ingest did with what it received, for a failure to say
            counts = {k: service.metrics.registry.get_sample_value(f"safecampus_ingest_{k}_total")
                      for k in ("received", "stored", "duplicates", "dead_lettered")}
            return f"{counts}, health {service.health()}, {scalar(db_url, 'SELECT count(*) FROM events')} stored " \
                   f"(before {before})"

        wait_until(
            lambda: scalar(db_url, "SELECT count(*) FROM events") - before == 10_000,
            60,
            what="both replays stored in full",
            describe=accounted,
        )


def test_a_replay_nobody_takes_says_so_and_exits_non_zero(tmp_path):
    from ingest.app.embedded import EmbeddedBroker

    broker = EmbeddedBroker(tmp_path, preferred_port=0)  # of its own: no ingest session, live or kept
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_MQTT_URL": broker.start()}
    rec = tmp_path / "c.jsonl"
    _recording(rec, 50, seed=303)
    try:
        out = run_cli(env, "sim", "replay", str(rec), "--speed", "1000", "--flush-timeout", "2", timeout=60)
    finally:
        broker.stop()
    assert out.returncode == 1
    assert "replayed 0 of 50 messages" in out.stdout and "NOT DELIVERED: 50 not taken by any subscriber" in out.stdout
