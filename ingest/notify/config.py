"""The notification file: channels, recipients and routes, validated (YAML, unknown keys refused).

Secrets never stand in the file: a channel names the environment variables that hold its
webhook address, signing secret or SMTP password (``url_env``, ``secret_env``, ``password_env``).
Documented in docs/notifications.md; an example is ``docs/notify.example.yaml``.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingest.core.errors import SafeCampusError
from ingest.core.vocabulary import PRIORITIES, SENSOR_KINDS, Priority, SignalClass

Language = Literal["zh-CN", "en"]
URGENCY: dict[str, int] = {p: n for n, p in enumerate(PRIORITIES, 1)}  # critical 1 ... low 4
FIRE_URGENCY, UPDATE_URGENCY = 0, 5  # a fire alarm before everything; updates and tests after alarms


class NotifyConfigError(SafeCampusError):
    """The notification file is wrong; the message names the file and the place."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Channel(_Strict):
    limit_per_min: int = Field(default=20, ge=1, le=10_000)  # what the far side accepts
    reserve_for_critical: int = Field(default=5, ge=0)  # slots routine messages may not take
    digest_every_s: float = Field(default=10.0, ge=0)  # in a flood, routine alarms gather this long per digest
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    label: str = ""  # what people call it on the admin page ("值班室企业微信群")

    def secret_names(self) -> list[str]:
        """The environment variables this channel reads."""
        return [v for k, v in self.__dict__.items() if k.endswith("_env") and v]


class _HttpChannel(_Channel):
    url: str | None = None  # the webhook address, when it is no secret (a test receiver)
    url_env: str | None = None  # else the variable holding it (robot keys and tokens are secrets)
    secret_env: str | None = None  # the signing secret's variable, when signing is on

    @model_validator(mode="after")
    def _one_url(self) -> _HttpChannel:
        if bool(self.url) == bool(self.url_env):
            raise ValueError("give exactly one of url or url_env")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


class WeComChannel(_HttpChannel):
    """A WeCom (企业微信) group robot: markdown, or text with ``mentioned_mobile_list``."""

    type: Literal["wecom"]
    mention_mobiles: list[str] = []  # people to @ (WeCom can @ them only in text messages)


class DingTalkChannel(_HttpChannel):
    """A DingTalk (钉钉) custom robot: markdown with ``at`` mobiles, signed when a secret is set."""

    type: Literal["dingtalk"]
    mention_mobiles: list[str] = []


class FeishuChannel(_HttpChannel):
    """A Feishu / Lark custom bot: text, signed when a secret is set."""

    type: Literal["feishu"]
    limit_per_min: int = Field(default=100, ge=1, le=10_000)


class WebhookChannel(_HttpChannel):
    """Any system that takes JSON (an SMS gateway, a ticketing system): docs/notifications.md#webhook."""

    type: Literal["webhook"]
    limit_per_min: int = Field(default=600, ge=1, le=100_000)
    headers: dict[str, str] = {}


class EmailChannel(_Channel):
    """E-mail through an SMTP server (STARTTLS, SSL or plain on a trusted network)."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65_535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    sender: str  # the From address
    to: list[str] = Field(min_length=1)
    limit_per_min: int = Field(default=60, ge=1, le=10_000)


Channel = Annotated[WeComChannel | DingTalkChannel | FeishuChannel | WebhookChannel | EmailChannel,
                    Field(discriminator="type")]


class Recipient(_Strict):
    """Someone (or a group) to tell, on one channel, in one language."""

    channel: str
    language: Language = "zh-CN"
    label: str = ""  # "值班员", "Chemistry head of department"


class Match(_Strict):
    """Which alarms a route takes; a list means any of its values, a missing key means any."""

    priority: list[Priority] | None = None
    signal_class: list[SignalClass] | None = None
    kind: list[str] | None = None  # sensor kind: smoke, door, lab, status
    condition: list[str] | None = None  # alarm condition or its stem: fire, door_forced, gas_high, ...
    building: list[str] | None = None  # building ids
    department: list[str] | None = None  # department ids
    drill: bool = False  # drills go only to routes that ask for them

    @field_validator("kind")
    @classmethod
    def _kinds(cls, value: list[str] | None) -> list[str] | None:
        bad = [k for k in value or [] if k not in SENSOR_KINDS]
        if bad:
            raise ValueError(f"unknown sensor kind {', '.join(bad)} (known: {', '.join(SENSOR_KINDS)})")
        return value

    def takes(self, alarm: dict) -> bool:
        """Whether an alarm (a row of ``alarm_places``) matches."""
        checks = (
            (self.priority, alarm.get("priority")),
            (self.signal_class, alarm.get("signal_class")),
            (self.kind, alarm.get("sensor_kind")),
            (self.building, alarm.get("building_id")),
            (self.department, alarm.get("department_id")),
        )
        if any(wanted is not None and value not in wanted for wanted, value in checks):
            return False
        condition = str(alarm.get("condition") or "")
        if self.condition is not None and not {condition, condition.split(":")[0]} & set(self.condition):
            return False
        return bool(alarm.get("drill")) == self.drill


class Step(_Strict):
    """One step of an escalation chain.

    Step 1 goes out when the alarm is raised, step 2 when it escalates (not acknowledged within
    its priority's limit), each later step ``after_s`` after the one before while still unacknowledged.
    """

    notify: list[str] = Field(min_length=1)
    after_s: int | None = Field(default=None, ge=1)


class QuietHours(_Strict):
    """Campus-time hours in which routine messages wait (critical ones never do)."""

    start: time
    end: time


class Route(_Strict):
    """Which alarms go to whom, step by step."""

    name: str
    match: Match = Match()
    steps: list[Step] = Field(min_length=1, max_length=6)
    remind_every_s: int | None = Field(default=300, ge=30)  # critical alarms, until acknowledged
    updates: bool = True  # acknowledged, returned to normal, closed: to everyone already told
    quiet_hours: QuietHours | None = None

    @model_validator(mode="after")
    def _later_steps_wait(self) -> Route:
        for n, step in enumerate(self.steps, 1):
            if n >= 3 and step.after_s is None:
                raise ValueError(f"step {n} needs after_s (seconds after step {n - 1})")
            if n < 3 and step.after_s is not None:
                raise ValueError(f"step {n} takes no after_s: step 1 goes at raise, step 2 at escalation")
        return self


class Retry(_Strict):
    """How a failed delivery is tried again."""

    first_s: float = Field(default=2.0, gt=0)
    max_s: float = Field(default=300.0, gt=0)
    give_up_after_s: float = Field(default=86_400.0, gt=0)


class NotifyConfig(_Strict):
    """The whole notification file."""

    console_url: str = "http://127.0.0.1:8050"  # where a message's link points (the console as people reach it)
    channels: dict[str, Channel]
    recipients: dict[str, Recipient]
    routes: list[Route] = []
    retry: Retry = Retry()

    @model_validator(mode="after")
    def _names_exist(self) -> NotifyConfig:
        for name, rcpt in self.recipients.items():
            if rcpt.channel not in self.channels:
                raise ValueError(f"recipient {name}: no channel named {rcpt.channel}")
        for route in self.routes:
            for n, step in enumerate(route.steps, 1):
                missing = [r for r in step.notify if r not in self.recipients]
                if missing:
                    raise ValueError(f"route {route.name}, step {n}: no recipient named {', '.join(missing)}")
        return self

    def routes_for(self, alarm: dict) -> list[Route]:
        """The routes an alarm matches (each applies; a recipient hears of a step once)."""
        return [r for r in self.routes if r.match.takes(alarm)]

    def missing_secrets(self, environ: dict[str, str] | None = None) -> list[str]:
        """'channel: VARIABLE' for each secret variable that is not set."""
        env = os.environ if environ is None else environ
        return [f"{name}: {var}" for name, ch in self.channels.items() for var in ch.secret_names() if not env.get(var)]


def parse(text: str, where: str) -> NotifyConfig:
    """Validate a notification file's text; NotifyConfigError names ``where`` and each bad place."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise NotifyConfigError(f"{where}: not YAML: {exc}") from None
    try:
        return NotifyConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("function-", "tagged-union")))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            lines.append(f"{where}: {loc or '(top)'}: {msg}")
        raise NotifyConfigError("\n".join(lines)) from None


def load(path: Path) -> NotifyConfig:
    """Read and validate a notification file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise NotifyConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse(text, str(path))


def urgency(alarm: dict) -> int:
    """Sending order: a real fire alarm first, then by priority."""
    if alarm.get("condition") == "fire" and alarm.get("signal_class") == "alarm":
        return FIRE_URGENCY
    return URGENCY.get(str(alarm.get("priority")), 4)

