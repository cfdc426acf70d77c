"""Run the test suite with the services it needs (``make test`` calls this).

PostgreSQL: ``SAFECAMPUS_TEST_DB_URL``, else a server on 127.0.0.1:5432, else an embedded
one. MQTT: ``SAFECAMPUS_TEST_MQTT_URL``, else a broker on 127.0.0.1:1883, else an embedded
one. Mosquitto, Chromium and ChromeDriver are installed from Debian packages when they are
missing and this user may install packages. Whatever cannot be had makes the tests that
need it fail with a clear message; nothing is skipped.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from ingest.app.embedded import EmbeddedBroker, EmbeddedPostgres, wait_for_port

logger = logging.getLogger("harness")
ROOT = Path(__file__).resolve().parent.parent
DEBIAN_PACKAGES = {"mosquitto": "mosquitto", "mosquitto_passwd": "mosquitto", "openssl": "openssl",
                   "chromium": "chromium", "chromedriver": "chromium-driver"}


def _can_install() -> list[str] | None:
    if not shutil.which("apt-get"):
        return None
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def _has_cjk_font() -> bool:
    """Chinese pages need a CJK font in the test browser (else every character is a box)."""
    try:
        out = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(out.stdout.strip())


def ensure_debian_tools() -> None:
    """Install mosquitto, openssl, chromium, chromedriver and a CJK font when missing (and we may)."""
    missing = sorted({pkg for tool, pkg in DEBIAN_PACKAGES.items() if not shutil.which(tool)})
    if not _has_cjk_font():
        missing.append("fonts-noto-cjk")
    if not missing:
        return
    prefix = _can_install()
    if prefix is None:
        logger.warning("missing %s and cannot install them: tests that need them will fail", missing)
        return
    logger.info("installing %s from Debian packages", " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", *missing], check=False, env=env)


def _pg_reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def main() -> int:
    """Ensure services, export their URLs, run pytest with the given arguments."""
    logging.basicConfig(level=logging.INFO, format="harness: %(message)s")
    args = sys.argv[1:]
    ensure_debian_tools()
    data_dir = ROOT / ".safecampus-test"
    started: list[EmbeddedPostgres | EmbeddedBroker] = []
    env = dict(os.environ)
    try:
        db = env.get("SAFECAMPUS_TEST_DB_URL")
        if not db:
            local = "postgresql://postgres@127.0.0.1:5432/postgres"
            if _pg_reachable(local):
                db = local
            else:
                logger.info("no PostgreSQL on 127.0.0.1:5432: starting an embedded one")
                pg = EmbeddedPostgres(data_dir, preferred_port=55432)
                started.append(pg)
                db = pg.start().rsplit("/", 1)[0] + "/postgres"
            env["SAFECAMPUS_TEST_DB_URL"] = db
        mqtt = env.get("SAFECAMPUS_TEST_MQTT_URL")
        if not mqtt:
            if wait_for_port(1883, 1):
                mqtt = "mqtt://127.0.0.1:1883"
            else:
                logger.info("no MQTT broker on 127.0.0.1:1883: starting an embedded one")
                broker = EmbeddedBroker(data_dir, preferred_port=51883)
                started.append(broker)
                mqtt = broker.start()
            env["SAFECAMPUS_TEST_MQTT_URL"] = mqtt
        logger.info("PostgreSQL %s, MQTT %s", db, mqtt)
        code = subprocess.run([sys.executable, "-m", "pytest", *args], env=env, cwd=ROOT).returncode
    finally:
        for svc in reversed(started):
            svc.stop()
    if code == 5:
        logger.error("pytest collected no tests")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
