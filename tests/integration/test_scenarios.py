"""Every shipped scenario, verified end to end: sim verify -> broker -> ingest -> alarms."""

import os
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from ingest.core.sitefile import load_site
from ingest.db.migrate import migrate
from ingest.db.registry import load_site as load_into_db
from sensors_sim.scenario import load_scenario, shipped
from tests.conftest import ROOT, temporary_database
from tests.integration.helpers import own_ingest_settings, running_ingest_with_alarms

SPEEDS = {"ammonia_leak": 120, "gateway_outage": 120}


@pytest.fixture
def scenario_db(pg_admin_url):
    """A fresh database per scenario: a fast-forwarded scenario sets the event clock."""
    with _database(pg_admin_url) as url:
        yield url


@contextmanager
def _database(pg_admin_url):
    with temporary_database(pg_admin_url, "scn") as url:
        migrate(url)
        with psycopg.connect(url) as conn:
            load_into_db(conn, load_site())
        yield url


@pytest.mark.parametrize("path", shipped(), ids=lambda p: p.stem)
def test_shipped_scenario_raises_exactly_its_alarms(path: Path, scenario_db, mqtt_url):
    scenario = load_scenario(path)
    settings = own_ingest_settings(scenario_db, mqtt_url, "scn")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_DB_URL": scenario_db, "SAFECAMPUS_MQTT_URL": mqtt_url}
    speed = SPEEDS.get(path.stem, 60)
    with running_ingest_with_alarms(settings):
        out = subprocess.run(
            [sys.executable, "-m", "ingest.app.cli", "sim", "verify", str(path), "--speed", str(speed)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]
    assert out.stdout.strip().endswith("PASS")
    assert f"scenario: {scenario.name}" in out.stdout
    with psycopg.connect(scenario_db) as conn:
        adapters = {r[0] for r in conn.execute(
            "SELECT DISTINCT payload -> 'source' ->> 'adapter' FROM events WHERE sensor_id = ANY(%s)",
            (scenario.sensors,))}
    # A scenario in an ecosystem's format came in through that ecosystem's adapter, and only so.
    assert adapters == ({None} if scenario.format == "native" else {scenario.format})


def test_a_scenario_whose_alarm_does_not_come_fails(scenario_db, mqtt_url, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: expects too much\nduration_s: 20\nsteps:\n"
        "  - {at: 0, sensors: [lib-2-smoke-1], smoke: pre_alarm}\n"
        "expect:\n  - {condition: fire, sensor: lib-2-smoke-1, within_s: 20}\n"
    )
    settings = own_ingest_settings(scenario_db, mqtt_url, "scn")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_DB_URL": scenario_db, "SAFECAMPUS_MQTT_URL": mqtt_url}
    with running_ingest_with_alarms(settings):
        out = subprocess.run(
            [sys.executable, "-m", "ingest.app.cli", "sim", "verify", str(bad), "--speed", "20"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.returncode == 1
    assert "MISSING" in out.stdout and "UNEXPECTED smoke_pre_alarm on lib-2-smoke-1" in out.stdout


ALARM_SHAPE = "SELECT sensor_id, condition, priority, confirmed, drill FROM alarms ORDER BY 1, 2"


def test_replaying_a_recorded_scenario_raises_the_same_alarms(pg_admin_url, mqtt_url, tmp_path):
    rec = tmp_path / "fire.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_MQTT_URL": mqtt_url, "SAFECAMPUS_INGEST_ID": f"rec{secrets.token_hex(3)}"}
    shapes = []
    with _database(pg_admin_url) as live_db:
        env["SAFECAMPUS_DB_URL"] = live_db
        settings = own_ingest_settings(live_db, mqtt_url, "scn")
        recorder = subprocess.Popen(
            [sys.executable, "-m", "ingest.app.cli", "sim", "record", str(rec)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(2)
            with running_ingest_with_alarms(settings):
                subprocess.run(
                    [sys.executable, "-m", "ingest.app.cli", "sim", "verify", "fire_lab_building", "--speed", "60"],
                    env=env,
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
        finally:
            recorder.terminate()
            recorder.wait(10)
        with psycopg.connect(live_db) as conn:
            shapes.append(conn.execute(ALARM_SHAPE).fetchall())
    with _database(pg_admin_url) as replay_db:
        env["SAFECAMPUS_DB_URL"] = replay_db
        settings = own_ingest_settings(replay_db, mqtt_url, "scn")
        with running_ingest_with_alarms(settings):
            subprocess.run(
                [sys.executable, "-m", "ingest.app.cli", "sim", "replay", str(rec), "--speed", "60"],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
                timeout=120,
            )
            time.sleep(2)
        with psycopg.connect(replay_db) as conn:
            shapes.append(conn.execute(ALARM_SHAPE).fetchall())
    assert shapes[0] and shapes[0] == shapes[1]
