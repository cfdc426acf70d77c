"""The ``safecampus`` command: one entry point, one function per subcommand."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.core import clock
from ingest.core.errors import SafeCampusError
from ingest.core.i18n import LANGUAGES
from ingest.core.settings import Settings, load_settings
from ingest.core.vocabulary import ROLES

logger = logging.getLogger("safecampus")


def _stop_event() -> threading.Event:
    """An event set by SIGINT or SIGTERM, so every long-running command stops cleanly."""
    stop = threading.Event()

    def handler(_sig: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    """Start the whole system (embedded services where none are configured)."""
    from ingest.app.runner import run_all

    return run_all(settings, _stop_event())


def cmd_ingest(settings: Settings, _args: argparse.Namespace) -> int:
    """Run one ingestor until stopped."""
    from ingest.service.main import run_ingest

    return run_ingest(settings, _stop_event())


def cmd_dashboard(settings: Settings, _args: argparse.Namespace) -> int:
    """Serve the dashboard."""
    from dashboard.server import serve  # noqa: I001

    return serve(settings)


def cmd_sim(settings: Settings, args: argparse.Namespace) -> int:
    """Publish normal campus life (and, later, scenarios) to the broker."""
    from sensors_sim.commands import run_sim

    return run_sim(settings, args, _stop_event())


def cmd_db_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    """Apply pending migrations and the configured policies."""
    from ingest.db.prepare import prepare_database

    mode, applied = prepare_database(settings, settings.require_db_url())
    print(f"database mode {mode}; applied {len(applied)} migration(s)")  # noqa: T201 - CLI output
    return 0


def cmd_db_backup(settings: Settings, args: argparse.Namespace) -> int:
    """Dump the database to a file (pg_dump, custom format)."""
    from ingest.db.backup import backup

    backup(settings.db_owner_url or settings.require_db_url(), Path(args.file))
    print(f"backed up to {args.file}")  # noqa: T201 - CLI output
    return 0


def cmd_db_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Restore a dump into an empty database, then bring it up to date and grant the app role."""
    from ingest.db.backup import restore
    from ingest.db.prepare import prepare_database

    restore(settings.db_owner_url or settings.require_db_url(), Path(args.file))
    mode, applied = prepare_database(settings, settings.require_db_url())
    print(f"restored {args.file}; database mode {mode}; applied {len(applied)} migration(s)")  # noqa: T201
    return 0


def cmd_db_status(settings: Settings, args: argparse.Namespace) -> int:
    """Print mode, schema version and counts."""
    from ingest.db.pool import connect
    from ingest.db.status import db_status

    with connect(settings.require_db_url()) as conn:
        status = db_status(conn)
    if args.json:
        print(json.dumps(status))  # noqa: T201 - CLI output
    else:
        for key, value in status.items():
            print(f"{key:20} {value}")  # noqa: T201 - CLI output
    return 0


def cmd_site_load(settings: Settings, args: argparse.Namespace) -> int:
    """Write a site file into the registry."""
    from ingest.core.sitefile import check_zone, load_site
    from ingest.db.pool import connect
    from ingest.db.registry import load_site as load_into_db

    site = load_site(args.file)
    check_zone(site, settings.site_timezone)
    with connect(settings.require_db_url()) as conn:
        result = load_into_db(conn, site)
    print(  # noqa: T201 - CLI output
        f"{site.name}: {result.buildings} buildings, {result.rooms} rooms, "
        f"{result.sensors} sensors ({result.retired_sensors} retired), {result.plans} floor plans, "
        f"{result.placed} sensors placed"
    )
    return 0


def cmd_site_acl(settings: Settings, args: argparse.Namespace) -> int:
    """Print the broker ACL for a site: service accounts and one gateway per building."""
    from ingest.core.sitefile import load_site
    from ingest.mqtt.acl import render_acl

    text = render_acl(load_site(args.file or settings.site_file))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text)  # noqa: T201 - CLI output
    return 0


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    """Create (or reset) a dashboard user; the password comes from a prompt or the environment."""
    import getpass
    import os

    from ingest.accounts import add_user
    from ingest.db.pool import connect

    password = os.environ.get("SAFECAMPUS_NEW_PASSWORD") or getpass.getpass(f"password for {args.username}: ")
    try:
        with connect(settings.require_db_url()) as conn:
            add_user(conn, args.username, password, args.role, args.name, card=args.card,
                     department=args.department, head=args.head)
    except ValueError as exc:
        raise SafeCampusError(str(exc)) from exc
    print(f"user {args.username} ({args.role}) saved")  # noqa: T201 - CLI output
    return 0


def cmd_user_lang(settings: Settings, args: argparse.Namespace) -> int:
    """Set the language a dashboard user reads in (``auto``: their browser's)."""
    from ingest.accounts import set_language
    from ingest.db.pool import connect

    language = None if args.language == "auto" else args.language
    with connect(settings.require_db_url()) as conn:
        if not set_language(conn, args.username, language):
            raise SafeCampusError(f"no user {args.username!r}")
    print(f"user {args.username} reads {language or 'their browser language'}")  # noqa: T201 - CLI output
    return 0


def cmd_report_weekly(settings: Settings, args: argparse.Namespace) -> int:
    """Write the weekly review as printable HTML and CSV (file names carry the week)."""
    from pathlib import Path

    from dashboard.report import weekly
    from ingest.db.pool import connect

    with connect(settings.require_db_url()) as conn:
        report = weekly.build(conn, args.week, include_drills=args.include_drills, tz=settings.site_timezone,
                              escalation_s=settings.escalation_limits())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    language = args.lang or settings.site_language
    (out / f"weekly-{report['week']}.html").write_text(weekly.to_html(report, language), encoding="utf-8")
    (out / f"weekly-{report['week']}.csv").write_text(weekly.to_csv(report, language), encoding="utf-8")
    h = report["health"]
    print(f"week {report['week']}: {report['total']} alarms, {h.per_hour_avg} per hour on average, "  # noqa: T201
          f"{h.flood_pct} % of the time in flood; wrote {out}/weekly-{report['week']}.html and .csv")
    return 0


def cmd_report_health(settings: Settings, args: argparse.Namespace) -> int:
    """Alarm-system health (ISA-18.2 KPIs) for any period, as JSON."""
    import dataclasses
    from datetime import UTC, datetime

    from dashboard.report import health
    from ingest.db.pool import connect
    from ingest.mqtt.contract import parse_ts

    try:
        start, end = parse_ts(args.since), parse_ts(args.until) if args.until else datetime.now(UTC)
    except SafeCampusError as exc:
        raise SafeCampusError(f"--since/--until: {exc}") from exc
    with connect(settings.require_db_url()) as conn:
        kpis = health.health(conn, start, end)
    if args.csv:
        sys.stdout.write(health.health_to_csv(kpis, args.lang or settings.site_language))
        return 0
    print(json.dumps(dataclasses.asdict(kpis), default=str, indent=1))  # noqa: T201 - CLI output
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="safecampus", description="SafeCampus security monitoring")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the whole system").set_defaults(func=cmd_run)
    sub.add_parser("ingest", help="run an ingestor").set_defaults(func=cmd_ingest)
    sub.add_parser("dashboard", help="serve the dashboard").set_defaults(func=cmd_dashboard)

    sim = sub.add_parser("sim", help="simulate sensors")
    from sensors_sim.commands import add_arguments

    add_arguments(sim)
    sim.set_defaults(func=cmd_sim)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("migrate", help="apply migrations").set_defaults(func=cmd_db_migrate)
    bk = db.add_parser("backup", help="dump the database to FILE (pg_dump custom format)")
    bk.add_argument("file")
    bk.set_defaults(func=cmd_db_backup)
    rs = db.add_parser("restore", help="restore FILE into an empty database, then migrate")
    rs.add_argument("file")
    rs.set_defaults(func=cmd_db_restore)
    status = db.add_parser("status", help="mode, schema version and counts")
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.set_defaults(func=cmd_db_status)

    site = sub.add_parser("site", help="site registry").add_subparsers(dest="site_command", required=True)
    load = site.add_parser("load", help="load a site file into the database")
    load.add_argument("file")
    load.set_defaults(func=cmd_site_load)
    acl = site.add_parser("acl", help="the Mosquitto ACL for a site (one gateway account per building)")
    acl.add_argument("file", nargs="?", help="site file (default: SAFECAMPUS_SITE_FILE, else the demo campus)")
    acl.add_argument("--out", help="write to this file instead of printing")
    acl.set_defaults(func=cmd_site_acl)
    report = sub.add_parser("report", help="reports").add_subparsers(dest="report_command", required=True)
    wk = report.add_parser("weekly", help="the weekly review (HTML and CSV)")
    wk.add_argument("--week", help="ISO week such as 2026-W48 (default: last week)")
    wk.add_argument("--out", default=".", help="folder for the files")
    wk.add_argument("--include-drills", action="store_true")
    wk.add_argument("--lang", choices=LANGUAGES, help="language of the review (default: the site's)")
    wk.set_defaults(func=cmd_report_weekly)
    hl = report.add_parser("health", help="alarm-system health (ISA-18.2 KPIs) for any period, as JSON")
    hl.add_argument("--since", required=True, help="start, RFC 3339 (e.g. 2026-11-23T00:00:00+08:00)")
    hl.add_argument("--until", help="end, RFC 3339 (default now)")
    hl.add_argument("--csv", action="store_true", help="the figures as CSV (measure, value, target) instead")
    hl.add_argument("--lang", choices=LANGUAGES, help="language of the CSV (default: the site's)")
    hl.set_defaults(func=cmd_report_health)

    users = sub.add_parser("user", help="dashboard users").add_subparsers(dest="user_command", required=True)
    add = users.add_parser("add", help="create or reset a user (password from a prompt or SAFECAMPUS_NEW_PASSWORD)")
    add.add_argument("username")
    add.add_argument("--role", choices=list(ROLES), required=True)
    add.add_argument("--name", help="display name")
    add.add_argument("--card", help="a guard's card id, as checkpoint scans carry it")
    add.add_argument("--department", help="the department (site file id) the person belongs to")
    add.add_argument("--head", action="store_true", help="heads the department: signs its inspections")
    add.set_defaults(func=cmd_user_add)
    lng = users.add_parser("lang", help="set the language a user reads in")
    lng.add_argument("username")
    lng.add_argument("language", choices=[*LANGUAGES, "auto"])
    lng.set_defaults(func=cmd_user_lang)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``safecampus`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SafeCampusError as exc:
        print(f"safecampus: invalid settings\n{exc}", file=sys.stderr)  # noqa: T201
        return 2
    clock.use_campus_zone(settings.site_timezone)
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    func: Callable[[Settings, argparse.Namespace], int] = args.func
    try:
        return func(settings, args)
    except SafeCampusError as exc:
        print(f"safecampus: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
