"""``safecampus sim ...``: normal life, scenarios, record, replay and load, against the broker."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.core.errors import BrokerUnavailableError, SafeCampusError
from ingest.core.settings import Settings
from ingest.core.site import Site
from ingest.core.sitefile import DEMO_SITE, check_zone, load_site, load_yaml_model
from ingest.mqtt.contract import service_topic
from ingest.mqtt.link import MqttLink
from sensors_sim import floorplans
from sensors_sim.formats import FORMATS, Converter
from sensors_sim.life import CampusLife, SimMessage
from sensors_sim.publisher import PublishStats, publish_paced

logger = logging.getLogger(__name__)

ACTIONS = ("run", "record", "replay", "verify", "load", "plans")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``safecampus sim``."""
    parser.add_argument(
        "action",
        nargs="?",
        default="run",
        choices=ACTIONS,
        help="run: normal campus life (default); record: live traffic to a file; replay FILE; "
        "verify SCENARIO; load: a steady rate for benchmarks; plans [DIR]: draw every floor's plan and place "
        "every sensor (a layout file beside the site file, or in DIR)",
    )
    parser.add_argument("file", nargs="?", help="recording (record, replay) or scenario file or name (verify)")
    parser.add_argument("--site", help="site file (default: settings, else the demo campus)")
    parser.add_argument("--seed", type=int, help="random seed (default SAFECAMPUS_SIM_SEED)")
    parser.add_argument("--speed", type=float, help="event time runs N times faster than wall time (0.5 to 1000)")
    parser.add_argument(
        "--duration", type=float, help="stop after N seconds (of event time for run, wall for record/load)"
    )
    parser.add_argument("--max-messages", type=int, help="stop after N messages")
    parser.add_argument("--patrol-faults", type=float, default=0.0,
                        help="run: the share of checkpoints a guard scans late or misses (0 to 1; default 0: "
                             "normal life raises no alarm)")
    parser.add_argument("--format", choices=FORMATS,
                        help="run, verify: publish as this ecosystem's devices would (default: campus/v1, or the "
                             "scenario's own format)")
    parser.add_argument("--shift-to-now", action="store_true", help="replay: move timestamps to the present")
    parser.add_argument("--drill", action="store_true", help="replay: mark every message as a drill")
    parser.add_argument("--from-db", action="store_true", help="replay stored events instead of a file")
    parser.add_argument("--since", help="replay --from-db: start (RFC 3339)")
    parser.add_argument("--until", help="replay --from-db: end (RFC 3339, default now)")
    parser.add_argument("--rate", type=float, default=1000, help="load: events per second")
    parser.add_argument("--processes", type=int, default=2, help="load: publisher processes")
    parser.add_argument(
        "--flush-timeout",
        type=float,
        default=30.0,
        help="replay, verify: seconds to wait for a subscriber to take what is left (default 30)",
    )


def sim_link(settings: Settings, name: str) -> MqttLink:
    """A publishing client for simulator commands, connected or failing clearly."""
    # A client id of its own: two replays with one id take the broker connection from each other
    # (MQTT session takeover), and what either had in flight is lost.
    link = MqttLink(
        settings.mqtt_endpoint(),
        f"safecampus-sim-{name}-{os.getpid()}-{secrets.token_hex(3)}",
        status_topic=service_topic("sim", name),
    )
    link.start()
    if not link.wait_connected(15):
        link.stop()
        raise BrokerUnavailableError(link.fatal_error or f"cannot reach the broker at {link.endpoint.url()}")
    return link


def _speed(args: argparse.Namespace, settings: Settings) -> float:
    speed = args.speed or settings.sim_speed
    if not 0.5 <= speed <= 1000:
        raise SafeCampusError("--speed must be between 0.5 and 1000")
    return speed


def run_sim(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    """Dispatch to the action."""
    return {"run": _run, "record": _record, "replay": _replay, "verify": _verify, "load": _load,
            "plans": _plans}[args.action](
        settings, args, stop
    )


def _plans(settings: Settings, args: argparse.Namespace, _stop: threading.Event) -> int:
    path = Path(args.site or settings.site_file or DEMO_SITE)
    site = load_yaml_model(path, Site, "site file")  # its plans may not exist yet: this draws them
    layout = floorplans.write(site, path, Path(args.file) if args.file else None)
    print(f"wrote {len(site.buildings)} buildings' plans and {layout}; name it in the site file: layout: {layout.name}")  # noqa: T201
    return 0


def _run(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    site = load_site(args.site or settings.site_file)
    check_zone(site, settings.site_timezone)
    seed = settings.sim_seed if args.seed is None else args.seed
    speed = _speed(args, settings)
    start = datetime.now(UTC)
    if speed > 1:
        start -= timedelta(seconds=(args.duration or 3600))  # keep event time from running into the future
    link = sim_link(settings, f"life-{seed}")
    until = start + timedelta(seconds=args.duration) if args.duration else None
    fmt = args.format or "native"
    logger.info("simulating %s: %d sensors, seed %d, speed x%g, as %s", site.name, len(site.sensors), seed, speed,
                fmt)
    try:
        stats = publish_paced(
            link, converted(CampusLife(site, seed, start, patrol_faults=args.patrol_faults), Converter(fmt, site)),
            speed=speed, stop=stop,
            until=until, max_messages=args.max_messages,
        )
    finally:
        link.stop()
    logger.info("published %d messages in %.1f s (%.0f/s)", stats.published, stats.seconds, stats.rate)
    return 0


def _record(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    from sensors_sim.replay import record

    if not args.file:
        raise SafeCampusError("sim record needs an output file")
    link = MqttLink(settings.mqtt_endpoint(), f"safecampus-sim-record-{settings.ingest_id}")
    try:
        from ingest.mqtt.adapters import from_settings

        n = record(link, Path(args.file), stop, args.duration, also=from_settings(settings).filters())
    finally:
        link.stop()
    print(f"recorded {n} messages to {args.file}")  # noqa: T201 - CLI output
    return 0


def _replay(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    from sensors_sim.replay import read_recording, stored_feed, to_feed

    speed = _speed(args, settings)
    if args.from_db:
        import psycopg

        from ingest.mqtt.contract import parse_ts

        if not args.since:
            raise SafeCampusError("replay --from-db needs --since")
        since = parse_ts(args.since)
        until = parse_ts(args.until) if args.until else datetime.now(UTC)
        with psycopg.connect(settings.require_db_url()) as conn:
            records = list(stored_feed(conn, since, until))
    else:
        if not args.file:
            raise SafeCampusError("sim replay needs a recording file (or --from-db)")
        records = list(read_recording(Path(args.file)))
    feed = list(to_feed(iter(records), shift_to_now=args.shift_to_now, drill=args.drill))
    link = sim_link(settings, "replay")
    try:
        stats = publish_paced(
            link,
            feed,
            speed=speed,
            stop=stop,
            progress=sys.stderr.isatty(),
            total=len(feed),
            flush_timeout=args.flush_timeout,
        )
    finally:
        link.stop()
    print(delivery_line("replayed", stats, len(feed)))  # noqa: T201 - CLI output
    return 0 if stats.delivered == len(feed) else 1


def converted(feed: Iterable[SimMessage], convert: Converter) -> Iterator[SimMessage]:
    """The feed as the converter's ecosystem says it (what it cannot say left out)."""
    for msg in feed:
        out = convert(msg)
        if out is not None:
            yield out


def delivery_line(verb: str, stats: PublishStats, total: int) -> str:
    """What a publishing command says at the end: delivered of total, and what was not."""
    line = f"{verb} {stats.delivered} of {total} messages in {stats.seconds:.1f} s"
    lost = [
        f"{n} {what}"
        for n, what in (
            (total - stats.published, "not sent (stopped)"),
            (stats.undelivered, "not taken by any subscriber"),
            (stats.refused, "refused by the broker"),
        )
        if n
    ]
    return line + (f"; NOT DELIVERED: {', '.join(lost)}" if lost else "")


def _verify(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    from sensors_sim.scenario import load_scenario
    from sensors_sim.verify import report, verify

    if not args.file:
        raise SafeCampusError("sim verify needs a scenario file or name")
    scenario = load_scenario(args.file)
    site = load_site(args.site or settings.site_file)
    check_zone(site, settings.site_timezone)
    speed = _speed(args, settings)
    link = sim_link(settings, "verify")
    try:

        convert = Converter(args.format or scenario.format, site)

        def publish(feed: Iterable[SimMessage], spd: float) -> None:
            feed = list(converted(feed, convert))
            stats = publish_paced(link, feed, speed=spd, stop=stop, flush_timeout=args.flush_timeout)
            if stats.delivered != len(feed):
                raise RuntimeError(delivery_line("the scenario's feed: delivered", stats, len(feed)))

        try:
            outcomes, unexpected = verify(scenario, site, settings.require_db_url(), publish, speed)
        except RuntimeError as exc:
            raise SafeCampusError(str(exc)) from exc
    finally:
        link.stop()
    print(report(scenario, outcomes, unexpected))  # noqa: T201 - CLI output
    return 0 if all(o.ok for o in outcomes) and not unexpected else 1


def _load(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    from sensors_sim.load import run_load

    settings.mqtt_endpoint()  # a clear error when no broker is configured
    achieved, sent = run_load(settings.mqtt_url or "", args.rate, args.duration or 10.0, args.processes, stop)
    print(f"load: asked {args.rate:.0f}/s, achieved {achieved:.0f}/s ({sent} events)")  # noqa: T201
    return 0
