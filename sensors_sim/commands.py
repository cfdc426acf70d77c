"""``safecampus sim ...``: run normal life against the broker the settings point at."""

from __future__ import annotations

import argparse
import logging
import threading
from datetime import UTC, datetime, timedelta

from ingest.config import Settings
from ingest.contract import service_topic
from ingest.errors import BrokerUnavailableError
from ingest.mqtt_client import MqttLink
from sensors_sim.life import CampusLife
from sensors_sim.publisher import publish_paced
from sensors_sim.site import load_site

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``safecampus sim``."""
    parser.add_argument("action", nargs="?", default="run", choices=["run"],
                        help="run: publish normal campus life (default)")
    parser.add_argument("--site", help="site file (default: settings, else the demo campus)")
    parser.add_argument("--seed", type=int, help="random seed (default SAFECAMPUS_SIM_SEED)")
    parser.add_argument("--speed", type=float, help="event time runs N times faster than wall time")
    parser.add_argument("--duration", type=float, help="stop after N seconds of event time")
    parser.add_argument("--max-messages", type=int, help="stop after N messages")


def sim_link(settings: Settings, name: str) -> MqttLink:
    """A publishing client for simulator commands, connected or failing clearly."""
    link = MqttLink(
        settings.mqtt_endpoint(),
        f"safecampus-sim-{name}",
        status_topic=service_topic("sim", name),
    )
    link.start()
    if not link.wait_connected(15):
        link.stop()
        raise BrokerUnavailableError(link.fatal_error or f"cannot reach the broker at {link.endpoint.url()}")
    return link


def run_sim(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    """Publish normal life until stopped (or for ``--duration``)."""
    site = load_site(args.site or settings.site_file)
    seed = settings.sim_seed if args.seed is None else args.seed
    speed = args.speed or settings.sim_speed
    start = datetime.now(UTC)
    if speed > 1:
        # Keep event time from running into the future: end the run at about now.
        start -= timedelta(seconds=(args.duration or 3600))
    life = CampusLife(site, seed, start)
    link = sim_link(settings, f"life-{seed}")
    until = start + timedelta(seconds=args.duration) if args.duration else None
    logger.info("simulating %s: %d sensors, seed %d, speed x%g", site.name, len(site.sensors), seed, speed)
    try:
        stats = publish_paced(link, life, speed=speed, stop=stop, until=until, max_messages=args.max_messages)
    finally:
        link.stop()
    logger.info("published %d messages in %.1f s (%.0f/s)", stats.published, stats.seconds, stats.rate)
    return 0
