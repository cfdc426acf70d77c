"""``safecampus run`` with no settings: embedded PostgreSQL and broker, the whole system."""

import json
import os
import signal
import subprocess
import sys
import urllib.request

import psycopg

from tests.conftest import ROOT, wait_until
from tests.integration.helpers import run_banner as _banner
from tests.integration.helpers import start_run as _start


def _events(db_url):
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]


def test_run_with_no_settings_comes_up_serves_and_keeps_data_across_restarts(tmp_path):
    out = tmp_path / "run.log"
    with out.open("wb") as log:
        proc = _start(tmp_path, log)
    try:
        dash_url, db_url = wait_until(lambda: _banner(out), 90, 0.3, what="the run banner")
        assert "embedded" in out.read_text()
        with urllib.request.urlopen(f"{dash_url}/wall", timeout=10) as resp:
            assert resp.status == 200
            assert b"SafeCampus" in resp.read()
        wait_until(lambda: _events(db_url) >= 20, 60, 0.5, what="simulated events stored")
        before = _events(db_url)
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does in a terminal
        code = proc.wait(60)
    assert code == 0, out.read_text()[-3000:]
    assert "stopped" in out.read_text()
    stored = None
    # Start again on the same data folder: everything stored before is still there.
    out2 = tmp_path / "run2.log"
    with out2.open("wb") as log:
        proc = _start(tmp_path, log)
    try:
        _, db_url2 = wait_until(lambda: _banner(out2), 90, 0.3, what="the second run banner")
        stored = _events(db_url2)
        status = subprocess.run([sys.executable, "-m", "ingest.app.cli", "db", "status", "--json"],
                                env={"SAFECAMPUS_DB_URL": db_url2, "PATH": os.environ["PATH"]},
                                capture_output=True, text=True, check=True, cwd=ROOT)
        assert json.loads(status.stdout)["sensors"] >= 500
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 0
    assert stored >= before >= 20
