import pytest

from ingest.core.errors import SettingsError
from ingest.core.settings import load_settings


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("SAFECAMPUS_DB_URL", "mysql://x@y/z", "SAFECAMPUS_DB_URL: must start with postgresql://"),
        ("SAFECAMPUS_DB_URL", "postgresql:///db", "SAFECAMPUS_DB_URL: needs a host"),
        ("SAFECAMPUS_DB_URL", "postgresql://h:99999/db", "SAFECAMPUS_DB_URL: port must be a number"),
        ("SAFECAMPUS_MQTT_URL", "http://broker", "SAFECAMPUS_MQTT_URL: must start with mqtt:// or mqtts://"),
        ("SAFECAMPUS_MQTT_URL", "mqtt://:1883", "SAFECAMPUS_MQTT_URL: needs a host"),
        ("SAFECAMPUS_MQTT_URL", "mqtt://h:port", "SAFECAMPUS_MQTT_URL: port must be a number"),
        (
            "SAFECAMPUS_INGEST_BATCH_SIZE",
            "0",
            "SAFECAMPUS_INGEST_BATCH_SIZE: Input should be greater than or equal to 1",
        ),
        ("SAFECAMPUS_INGEST_BATCH_SIZE", "lots", "SAFECAMPUS_INGEST_BATCH_SIZE: Input should be a valid integer"),
        (
            "SAFECAMPUS_DASHBOARD_PORT",
            "70000",
            "SAFECAMPUS_DASHBOARD_PORT: Input should be less than or equal to 65535",
        ),
        ("SAFECAMPUS_LOG_LEVEL", "LOUD", "SAFECAMPUS_LOG_LEVEL: Input should be"),
        ("SAFECAMPUS_DB_MODE", "oracle", "SAFECAMPUS_DB_MODE: Input should be"),
        ("SAFECAMPUS_MQTT_PROTOCOL", "4", "SAFECAMPUS_MQTT_PROTOCOL: Input should be"),
        ("SAFECAMPUS_INGEST_ID", "has space", "SAFECAMPUS_INGEST_ID: String should match pattern"),
        ("SAFECAMPUS_SIM_SPEED", "-1", "SAFECAMPUS_SIM_SPEED: Input should be greater than 0"),
    ],
)
def test_each_invalid_value_gives_one_line_naming_the_variable(monkeypatch, var, value, expected):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(expected)


def test_unknown_setting_is_an_error(monkeypatch):
    monkeypatch.setenv("SAFECAMPUS_DB_ULR", "postgresql://h/db")
    with pytest.raises(SettingsError, match="SAFECAMPUS_DB_ULR: unknown setting"):
        load_settings()


def test_two_bad_values_give_two_lines(monkeypatch):
    monkeypatch.setenv("SAFECAMPUS_DB_URL", "nope")
    monkeypatch.setenv("SAFECAMPUS_MQTT_URL", "nope")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).splitlines() == [
        "SAFECAMPUS_DB_URL: must start with postgresql://",
        "SAFECAMPUS_MQTT_URL: must start with mqtt:// or mqtts://",
    ]


def test_valid_settings_and_defaults(monkeypatch):
    monkeypatch.setenv("SAFECAMPUS_DB_URL", "postgresql://app:secret@db:5432/safecampus")
    monkeypatch.setenv("SAFECAMPUS_MQTT_URL", "mqtts://ingest:p%40ss@broker:8883")
    s = load_settings()
    ep = s.mqtt_endpoint()
    assert (ep.host, ep.port, ep.username, ep.password, ep.tls) == ("broker", 8883, "ingest", "p@ss", True)
    assert ep.url() == "mqtts://ingest@broker:8883"
    assert s.ingest_batch_size == 10_000 and s.dashboard_port == 8050


def test_cli_reports_bad_settings_without_a_traceback(monkeypatch, capsys):
    from ingest.app.cli import main

    monkeypatch.setenv("SAFECAMPUS_DB_URL", "mysql://x")
    assert main(["db", "status"]) == 2
    err = capsys.readouterr().err
    assert "SAFECAMPUS_DB_URL: must start with postgresql://" in err
    assert "Traceback" not in err
