"""Several dashboard worker processes: every open page gets every alarm change."""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import psycopg

from ingest.app.embedded import pick_port, wait_for_port
from tests.conftest import ROOT, wait_until
from tests.integration.helpers import WallScreen

CLIENTS = 8


def test_two_workers_serve_one_port_and_every_page_gets_every_change(db_url):
    port = pick_port(0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_DB_URL": db_url, "SAFECAMPUS_DASHBOARD_PORT": str(port), "SAFECAMPUS_DASHBOARD_WORKERS": "2",
            "SAFECAMPUS_KIOSK_TOKEN": "k-token"}
    proc = subprocess.Popen([sys.executable, "-m", "ingest.app.cli", "dashboard"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for_port(port, 30)
        wait_until(lambda: len(psutil.Process(proc.pid).children()) == 2, 10, what="two worker processes")
        screens = [WallScreen(port) for _ in range(CLIENTS)]
        for s in screens:
            s.start()
        for s in screens:
            assert s.open.wait(20)
        time.sleep(1.5)  # each worker has started listening
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("SELECT pg_notify('safecampus_alarms', %s)", (json.dumps({"id": 42, "action": "raised"}),))
        for s in screens:
            wait_until(lambda s=s: s.changes, 10, what="the change on every page")
        assert all([c["id"] for c in s.changes] == [42] for s in screens)
        served_by = {c.pid for c in psutil.Process(proc.pid).children()}
        assert len(served_by) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
