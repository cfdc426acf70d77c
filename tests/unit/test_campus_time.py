"""Campus time has one home: no displayed time may follow the server process's own zone."""

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime

from ingest.core import clock
from tests.conftest import ROOT

SERVER_ZONE = re.compile(r"\.astimezone\(\)|datetime\.now\(\)|\.fromtimestamp\([^,()]*\)|time\.localtime\(")


def test_no_module_reads_the_server_processes_zone():
    found = []
    for package in ("ingest", "dashboard", "sensors_sim"):
        for path in (ROOT / package).rglob("*.py"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if SERVER_ZONE.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == [], "times in the server's zone (use ingest.core.clock):\n" + "\n".join(found)


def test_campus_day_and_times_are_the_same_whatever_tz_the_process_runs_in():
    script = ("from datetime import datetime, UTC, date; from ingest.core import clock;"
              "clock.use_campus_zone('Asia/Shanghai');"
              "print(clock.fmt(datetime(2026, 11, 30, 10, 50, 7, tzinfo=UTC)),"
              " *[t.isoformat() for t in clock.day_bounds(date(2026, 12, 1))])")
    outs = {tz: subprocess.run([sys.executable, "-c", script], env={**os.environ, "TZ": tz}, cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
            for tz in ("UTC", "America/New_York", "Asia/Shanghai")}
    assert len(set(outs.values())) == 1, outs
    assert outs["UTC"] == "2026-11-30 18:50:07 2026-12-01T00:00:00+08:00 2026-12-02T00:00:00+08:00"


def test_typed_times_are_read_as_campus_time():
    clock.use_campus_zone("Asia/Shanghai")
    assert clock.as_campus(datetime(2026, 12, 1, 8, 0)).astimezone(UTC) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert clock.day_start(date(2026, 12, 1)).utcoffset().total_seconds() == 8 * 3600
