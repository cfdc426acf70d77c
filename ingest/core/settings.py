"""One typed settings object, read from ``SAFECAMPUS_*`` environment variables."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.core.errors import SettingsError
from ingest.core.intake import MAX_PAYLOAD_BYTES, Limits
from ingest.core.vocabulary import ADAPTERS, ESCALATION_DEFAULT_S

ENV_PREFIX = "SAFECAMPUS_"


def _default_ingest_id() -> str:
    return socket.gethostname().split(".")[0] or "ingest"


class Settings(BaseSettings):
    """Everything a SafeCampus process can be told; validated once at start-up."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    # Servers. Empty means "start an embedded one" (``safecampus run`` only).
    db_url: str | None = None
    db_owner_url: str | None = None
    db_mode: Literal["auto", "timescaledb", "postgresql"] = "auto"
    mqtt_url: str | None = None
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None

    data_dir: Path = Path(".safecampus")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Ingest.
    ingest_id: str = Field(default_factory=_default_ingest_id, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    ingest_share_group: str = Field(default="ingest", pattern=r"^[A-Za-z0-9_-]{0,64}$")
    ingest_batch_size: int = Field(default=10_000, ge=1, le=50_000)
    ingest_batch_age_ms: int = Field(default=50, ge=1, le=10_000)
    ingest_queue_size: int = Field(default=20_000, ge=10, le=65_535)
    ingest_health_host: str = "127.0.0.1"
    ingest_health_port: int = Field(default=9108, ge=0, le=65_535)
    ingest_max_future_s: int = Field(default=300, ge=0)
    # A device clock ahead of ours by more than this: the event is stored with its own time,
    # but its rules and timers run at our receive time (no device clock drives the campus's timers).
    ingest_clock_tolerance_s: float = Field(default=2.0, ge=0, le=300)
    ingest_max_payload_bytes: int = Field(default=MAX_PAYLOAD_BYTES, ge=1024, le=16 * 1024 * 1024)
    # Messages waiting this long with no commit: /healthz says "stalled" (503).
    ingest_stall_s: float = Field(default=30.0, ge=1)
    # Long enough for an upgrade: the broker keeps the session and queues for a stopped ingestor.
    ingest_session_expiry_s: int = Field(default=86_400, ge=0)

    # Device adapters (docs/devices.md): which ecosystems' topics ingest reads besides campus/v1.
    adapters: str = Field(default="zigbee2mqtt,tasmota,chirpstack,ttn,homeassistant",
                          pattern=r"^[a-z0-9,\s]*$")
    adapter_zigbee2mqtt_base: str = Field(default="zigbee2mqtt", pattern=r"^[^+#\s]+$")
    adapter_homeassistant_base: str = Field(default="homeassistant", pattern=r"^[^+#\s]+$")
    adapter_generic_topics: str = ""  # MQTT filters, comma-separated, read by the generic adapter

    # TimescaleDB policies (ignored on plain PostgreSQL, where ingest prunes by age).
    retention_days: int = Field(default=400, ge=1)
    compress_after_days: int = Field(default=7, ge=1)

    # Alarms: escalate when not acknowledged within these limits (seconds).
    escalate_critical_s: int = Field(default=ESCALATION_DEFAULT_S["critical"], ge=1)
    escalate_high_s: int = Field(default=ESCALATION_DEFAULT_S["high"], ge=1)
    escalate_medium_s: int = Field(default=ESCALATION_DEFAULT_S["medium"], ge=1)
    escalate_low_s: int = Field(default=ESCALATION_DEFAULT_S["low"], ge=1)
    procedures_file: Path | None = None
    # Who is told of alarms, how and when (docs/notifications.md); unset: nobody is notified.
    notify_file: Path | None = None
    site_timezone: str = "Asia/Shanghai"
    site_language: str = Field(default="zh-CN", pattern=r"^(zh-CN|en)$")  # screens, MQTT alarm texts, reports

    # Dashboard.
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(default=8050, ge=0, le=65_535)
    dashboard_workers: int = Field(default=1, ge=1, le=64)
    # Each open page holds one thread for its event stream: threads per worker bound the screens
    # and consoles one worker serves at once (gunicorn's gthread workers).
    dashboard_threads: int = Field(default=128, ge=4, le=2048)
    dashboard_timeout_s: int = Field(default=60, ge=5, le=3600)  # a worker silent this long is restarted
    secret_key: SecretStr | None = None
    kiosk_token: SecretStr | None = None
    secure_cookies: bool = False

    # Simulator.
    site_file: Path | None = None
    sim_seed: int = 42
    sim_speed: float = Field(default=1.0, gt=0, le=10_000)

    @field_validator("db_url", "db_owner_url")
    @classmethod
    def _check_db_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("must start with postgresql://")
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError("needs a host (postgresql://user@host:port/dbname)")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as exc:
            raise ValueError("port must be a number from 1 to 65535") from exc
        return value

    @field_validator("notify_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value  # compose passes an unset variable as ""

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError("must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError("needs a host (mqtt://user:password@host:port)")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as exc:
            raise ValueError("port must be a number from 1 to 65535") from exc
        return value

    @field_validator("adapters")
    @classmethod
    def _check_adapters(cls, value: str) -> str:
        unknown = [a for a in _words(value) if a not in ADAPTERS]
        if unknown:
            raise ValueError(f"unknown adapters {unknown}; known: {', '.join(ADAPTERS)}")
        return value

    def adapter_names(self) -> list[str]:
        """The device adapters ingest runs (generic only when it has topics to read)."""
        names = _words(self.adapters)
        if self.adapter_generic_topics.strip() and "generic" not in names:
            names.append("generic")
        return names

    def escalation_limits(self) -> dict[str, float]:
        """Seconds an alarm of each priority may stay unacknowledged before it escalates."""
        return {"critical": self.escalate_critical_s, "high": self.escalate_high_s,
                "medium": self.escalate_medium_s, "low": self.escalate_low_s}

    def contract_limits(self) -> Limits:
        """What ingest accepts of an event's time and size."""
        return Limits(max_future=timedelta(seconds=self.ingest_max_future_s),
                      clock_tolerance=timedelta(seconds=self.ingest_clock_tolerance_s),
                      max_age=timedelta(days=self.retention_days),
                      max_payload_bytes=self.ingest_max_payload_bytes)

    def mqtt_endpoint(self) -> MqttEndpoint:
        """The broker to connect to; only valid once ``mqtt_url`` is set."""
        if not self.mqtt_url:
            raise SettingsError(f"{ENV_PREFIX}MQTT_URL: not set")
        return MqttEndpoint.from_url(self.mqtt_url, self)

    def require_db_url(self) -> str:
        """The database URL, or a clear error when none is configured."""
        if not self.db_url:
            raise SettingsError(f"{ENV_PREFIX}DB_URL: not set (or use 'safecampus run')")
        return self.db_url


class MqttEndpoint:
    """Where and how to reach the broker."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        protocol: str = "5",
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.tls = tls
        self.protocol = protocol
        self.ca_file = ca_file
        self.cert_file = cert_file
        self.key_file = key_file

    @classmethod
    def from_url(cls, url: str, settings: Settings | None = None) -> MqttEndpoint:
        """Build from ``mqtt[s]://user:password@host:port``."""
        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        return cls(
            parts.hostname or "127.0.0.1",
            parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            protocol=settings.mqtt_protocol if settings else "5",
            ca_file=settings.mqtt_ca_file if settings else None,
            cert_file=settings.mqtt_cert_file if settings else None,
            key_file=settings.mqtt_key_file if settings else None,
        )

    def url(self) -> str:
        """The URL without the password (safe to print)."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise SettingsError with one line per bad variable."""
    known = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    # Test-harness, benchmark and one-shot CLI variables share the prefix but are not settings.
    not_settings = (f"{ENV_PREFIX}TEST_", f"{ENV_PREFIX}BENCH_", f"{ENV_PREFIX}NEW_PASSWORD")
    unknown = sorted(
        k for k in os.environ
        if k.startswith(ENV_PREFIX) and k not in known and not k.startswith(not_settings)
    )
    lines = [f"{name}: unknown setting" for name in unknown]
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown setting"
            lines.append(f"{ENV_PREFIX}{field.upper()}: {msg}")
        raise SettingsError("\n".join(lines)) from None
    if lines:
        raise SettingsError("\n".join(lines))
    return settings


def redact_db_url(url: str) -> str:
    """A database URL with its password removed, for logs and banners."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _words(value: str) -> list[str]:
    return [w.strip() for w in value.split(",") if w.strip()]
