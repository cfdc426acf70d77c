"""``safecampus run``: the whole system on one machine, with embedded defaults.

Starts what is not configured (PostgreSQL, an MQTT broker), migrates, loads the site,
then runs ingest, the simulator and the dashboard as child processes and supervises
them until Ctrl-C, when it stops everything in order without losing stored data.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from ingest.app.embedded import EmbeddedBroker, EmbeddedPostgres, pick_port
from ingest.core.settings import ENV_PREFIX, Settings, redact_db_url
from ingest.core.sitefile import check_zone, load_site
from ingest.db import queries as q
from ingest.db.pool import connect
from ingest.db.prepare import prepare_database
from ingest.db.registry import load_site as load_site_into_db
from ingest.db.roles import ensure_login_role

logger = logging.getLogger(__name__)
APP_ROLE = "safecampus_app"

RESTART_LIMIT = 5


@dataclass
class Child:
    """A supervised child process."""

    name: str
    args: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    log_path: str = ""
    started_at: float = field(default=0.0)

    def start(self) -> None:
        """Start (or restart) the process, logging to its own file."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)
        self.started_at = time.monotonic()

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in %g s; killing it", self.name, timeout)
                self.proc.kill()
                self.proc.wait()


def _wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - our own localhost URL
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def _local_secret(data_dir: Path, name: str) -> str:
    """A random secret kept in the data folder, so sessions and kiosk links survive restarts."""
    path = data_dir / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _demo_officer(conn: psycopg.Connection, data_dir: Path) -> str:
    """On an empty user table, an 'officer' account with a random password (shown in the banner)."""
    from ingest.accounts import add_user
    from sensors_sim.life import guard_card

    if conn.execute(q.COUNT_USERS).fetchone()[0]:  # type: ignore[index]
        if (data_dir / "officer_password").exists():  # made by an earlier run; shown again
            return f"officer / {_local_secret(data_dir, 'officer_password')} (unless changed since)"
        return "a user made with 'safecampus user add'"
    password = _local_secret(data_dir, "officer_password")
    add_user(conn, "officer", password, "officer", "Duty officer")
    # The simulator's guards (sensors_sim.life.guard_card): their phone page is /guard.
    for n in (1, 2, 3):
        add_user(conn, f"guard{n}", password, "guard", f"Guard {n}", card=guard_card(n - 1))
    for department in ("chem-bio", "logistics", "library"):  # heads who sign their department's inspections
        add_user(conn, f"head-{department}", password, "viewer", f"Head of {department}", department=department,
                 head=True)
    return f"officer / {password} (guards: guard1-3; department heads: head-chem-bio, head-logistics; same password)"


def run_all(settings: Settings, stop: threading.Event) -> int:
    """Run everything until ``stop`` is set."""
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pg = broker = None
    children: list[Child] = []
    try:
        owner_url = settings.db_owner_url
        if settings.db_url:
            db_url = settings.db_url
        else:
            pg = EmbeddedPostgres(data_dir)
            owner_url = pg.start()
            # The services use a role that can change rows but not the schema or the journal.
            with connect(owner_url, autocommit=True) as conn:
                ensure_login_role(conn, APP_ROLE)
            db_url = pg.url_for(APP_ROLE)
        protocol: str
        if settings.mqtt_url:
            mqtt_url, protocol = settings.mqtt_url, settings.mqtt_protocol
        else:
            broker = EmbeddedBroker(data_dir)
            mqtt_url, protocol = broker.start(), broker.protocol
        mode, applied = prepare_database(settings, db_url, owner_url)
        site = load_site(settings.site_file)
        check_zone(site, settings.site_timezone)
        with connect(db_url) as conn:
            load_site_into_db(conn, site)
            officer = _demo_officer(conn, data_dir)
            if not settings.site_file:  # the demo campus: a past for its inspections and hazards
                from sensors_sim.safety_history import seed

                seed(conn, site)
        secret = (
            settings.secret_key.get_secret_value() if settings.secret_key else _local_secret(data_dir, "secret_key")
        )
        kiosk = (
            settings.kiosk_token.get_secret_value() if settings.kiosk_token else _local_secret(data_dir, "kiosk_token")
        )

        dash_port = pick_port(settings.dashboard_port, settings.dashboard_host)
        env = {k: v for k, v in os.environ.items() if k != f"{ENV_PREFIX}DB_OWNER_URL"}  # services never own
        env.update(
            {
                f"{ENV_PREFIX}DB_URL": db_url,
                f"{ENV_PREFIX}MQTT_URL": mqtt_url,
                f"{ENV_PREFIX}MQTT_PROTOCOL": protocol,
                f"{ENV_PREFIX}DASHBOARD_PORT": str(dash_port),
                f"{ENV_PREFIX}INGEST_HEALTH_PORT": str(pick_port(settings.ingest_health_port)),
                f"{ENV_PREFIX}DATA_DIR": str(data_dir),
                f"{ENV_PREFIX}SECRET_KEY": secret,
                f"{ENV_PREFIX}KIOSK_TOKEN": kiosk,
            }
        )
        cli = [sys.executable, "-m", "ingest.app.cli"]
        logs = data_dir / "logs"
        logs.mkdir(exist_ok=True)
        for name, args in (("ingest", ["ingest"]), ("dashboard", ["dashboard"]), ("sim", ["sim"])):
            child = Child(name, cli + args, env, log_path=str(logs / f"{name}.log"))
            child.start()
            children.append(child)
        dash_url = f"http://{settings.dashboard_host}:{dash_port}"
        if not _wait_http(f"{dash_url}/login", 60):
            logger.error("the dashboard did not answer; see %s", logs / "dashboard.log")
        banner = [
            "",
            "SafeCampus is running",
            f"  wall       {dash_url}/wall?kiosk={kiosk}",
            f"  console    {dash_url}/console  (log in as {officer})",
            f"  guards     {dash_url}/guard  (a phone page: log in as a guard)",
            f"  database   {redact_db_url(db_url)}  ({mode}{', embedded' if pg else ''})",
            f"  broker     {mqtt_url}  ({broker.kind + ', embedded' if broker else 'configured'})",
            f"  data       {data_dir}   logs in {logs}",
            "Press Ctrl-C to stop.",
            "",
        ]
        print("\n".join(banner), flush=True)  # noqa: T201 - the user's banner
        _supervise(children, stop)
        return 0
    finally:
        for child in reversed(children):  # sim first, ingest last: it flushes what it holds
            child.stop()
        if broker:
            broker.stop()
        if pg:
            pg.stop(quiet=True)
        logger.info("stopped")


def _supervise(children: list[Child], stop: threading.Event) -> None:
    """Restart a child that dies (with a limit) until ``stop`` is set."""
    while not stop.wait(1.0):
        for child in children:
            if child.proc and child.proc.poll() is not None:
                if child.restarts >= RESTART_LIMIT:
                    logger.error("%s keeps failing; see %s", child.name, child.log_path)
                    stop.set()
                    break
                child.restarts += 1
                logger.warning("%s exited with %s; restarting (%d)", child.name, child.proc.returncode, child.restarts)
                child.start()
