"""docker-compose.yml matches what the code reads (no Docker engine needed)."""

import re
from urllib.parse import urlsplit

import yaml

from ingest.app.cli import build_parser
from ingest.core.settings import ENV_PREFIX, Settings
from ingest.core.sitefile import load_site
from ingest.mqtt.acl import render_acl
from tests.conftest import ROOT

# Interpolate ${VAR...} the way compose would, with a stand-in value.
COMPOSE = yaml.safe_load(re.sub(r"\$\{[^}]*\}", "secret", (ROOT / "docker-compose.yml").read_text()))
SERVICES = COMPOSE["services"]
APP = {name: svc for name, svc in SERVICES.items() if svc.get("image") == "safecampus:local"}
KNOWN = {f"{ENV_PREFIX}{f.upper()}" for f in Settings.model_fields}


def test_the_production_shape_is_there():
    assert {"mosquitto", "timescaledb", "ingest", "dashboard", "simulator", "migrate"} <= SERVICES.keys()
    assert SERVICES["mosquitto"]["image"].startswith("eclipse-mosquitto:2")
    assert SERVICES["timescaledb"]["image"].startswith("timescale/timescaledb")
    for name in ("mosquitto", "timescaledb", "ingest", "dashboard"):
        assert "healthcheck" in SERVICES[name], name


def test_each_app_command_is_a_real_subcommand():
    parser = build_parser()
    for name, svc in APP.items():
        cmd = svc["command"]
        assert cmd[0] == "safecampus", name
        args = parser.parse_args(cmd[1:])
        assert callable(args.func), name


def test_each_app_environment_variable_is_a_setting_and_urls_parse():
    for name, svc in APP.items():
        env = svc.get("environment", {})
        unknown = set(env) - KNOWN
        assert not unknown, f"{name} sets {unknown}, which the code does not read"
        if "SAFECAMPUS_DB_URL" in env:
            assert urlsplit(env["SAFECAMPUS_DB_URL"]).hostname == "timescaledb"
        if "SAFECAMPUS_MQTT_URL" in env:
            assert urlsplit(env["SAFECAMPUS_MQTT_URL"]).hostname == "mosquitto"
    assert APP["dashboard"]["environment"]["SAFECAMPUS_DASHBOARD_HOST"] == "0.0.0.0"  # noqa: S104
    assert APP["migrate"]["environment"]["SAFECAMPUS_DB_MODE"] == "timescaledb"


def test_secrets_come_from_the_environment():
    text = (ROOT / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if re.search(r"PASSWORD|SECRET", line) and ":" in line and "${" not in line and "$$" not in line:
            assert "mosquitto_passwd" not in line
            assert not re.search(r"PASSWORD:\s*\S", line), line


def test_broker_requires_auth_keeps_messages_and_every_app_user_exists():
    conf = COMPOSE["configs"]["mosquitto_conf"]["content"]
    assert "allow_anonymous false" in conf and "password_file" in conf and "acl_file" in conf
    assert "persistence true" in conf
    assert int(re.search(r"max_queued_messages (\d+)", conf).group(1)) >= 100_000
    # Ingest's whole window in flight (else the broker waits for a batch's acks before sending more).
    window = Settings.model_fields["ingest_queue_size"].default
    assert int(re.search(r"max_inflight_messages (\d+)", conf).group(1)) >= window
    assert window >= 2 * Settings.model_fields["ingest_batch_size"].default  # one batch written, one arriving
    # The broker refuses packets larger than ingest's payload limit plus topic and headers.
    from ingest.app.embedded import MAX_PACKET_BYTES

    limit = int(re.search(r"max_packet_size (\d+)", conf).group(1))
    assert limit == MAX_PACKET_BYTES and Settings.model_fields["ingest_max_payload_bytes"].default < limit
    # The ACL is made from the site file by a one-shot service, before the broker starts.
    made = SERVICES["broker-acl"]["command"]
    assert made[1:3] == ["site", "acl"] and SERVICES["mosquitto"]["depends_on"]["broker-acl"]
    acl = render_acl(load_site(ROOT / made[3].removeprefix("/app/")))
    entry = "\n".join(SERVICES["mosquitto"]["entrypoint"])
    for name, svc in APP.items():
        url = svc.get("environment", {}).get("SAFECAMPUS_MQTT_URL")
        if url:
            user = urlsplit(url).username
            assert "mosquitto_passwd" in entry and f" {user} " in entry, user
            assert f"user {user}" in acl, user


def test_services_use_the_application_role_and_only_migrate_owns_the_schema():
    for name, svc in APP.items():
        env = svc.get("environment", {})
        if "SAFECAMPUS_DB_URL" in env:
            assert urlsplit(env["SAFECAMPUS_DB_URL"]).username == "safecampus_app", name
        if name != "migrate":
            assert "SAFECAMPUS_DB_OWNER_URL" not in env, name
    owner = urlsplit(APP["migrate"]["environment"]["SAFECAMPUS_DB_OWNER_URL"])
    assert owner.username == SERVICES["timescaledb"]["environment"]["POSTGRES_USER"]
    assert "CREATE ROLE safecampus_app LOGIN" in COMPOSE["configs"]["db_app_role"]["content"]
