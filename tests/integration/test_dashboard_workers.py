"""Several dashboard worker processes: every open page gets every alarm change."""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

import psutil
import psycopg

from ingest.services import pick_port, wait_for_port
from tests.conftest import ROOT, wait_until

CLIENTS = 8


def _stream(port, got, ready):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/wall?kiosk=k-token")
    resp = conn.getresponse()
    cookie = resp.getheader("Set-Cookie", "").split(";")[0]
    resp.read()
    conn.request("GET", "/events/alarms", headers={"Cookie": cookie})
    resp = conn.getresponse()
    ready.wait()
    while True:
        line = resp.fp.readline()
        if not line:
            return
        if line.startswith(b"data: "):
            got.append(json.loads(line[6:]))
            return


def test_two_workers_serve_one_port_and_every_page_gets_every_change(db_url):
    port = pick_port(0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFECAMPUS_")}
    env |= {"SAFECAMPUS_DB_URL": db_url, "SAFECAMPUS_DASHBOARD_PORT": str(port), "SAFECAMPUS_DASHBOARD_WORKERS": "2",
            "SAFECAMPUS_KIOSK_TOKEN": "k-token"}
    proc = subprocess.Popen([sys.executable, "-m", "ingest.cli", "dashboard"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for_port(port, 30)
        wait_until(lambda: len(psutil.Process(proc.pid).children()) == 2, 10, what="two worker processes")
        got: list = []
        ready = threading.Barrier(CLIENTS + 1)
        threads = [threading.Thread(target=_stream, args=(port, got, ready), daemon=True) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        ready.wait(20)
        time.sleep(1.5)  # each worker has started listening
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("SELECT pg_notify('safecampus_alarms', %s)", (json.dumps({"id": 42, "action": "raised"}),))
        for t in threads:
            t.join(10)
        assert len(got) == CLIENTS and all(g["id"] == 42 for g in got)
        served_by = {c.pid for c in psutil.Process(proc.pid).children()}
        assert len(served_by) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
