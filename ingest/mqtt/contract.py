"""The MQTT contract: topic tree and payload validation (docs/mqtt.md is its documentation); what
each kind's payload must hold is in ``ingest.mqtt.payloads``.

Everything here is pure: no I/O, so it is safe to call from paho's ``on_message``.
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from ingest.core.errors import ContractError
from ingest.core.intake import Limits
from ingest.core.vocabulary import (
    DOOR_EVENTS,
    GASES,
    LAB_METRICS,
    PLAIN_METRICS,
    SENSOR_KINDS,
    SMOKE_STATES,
)
from ingest.mqtt.payloads import CHECKS

CONTRACT_VERSION = "v1"
ROOT = f"campus/{CONTRACT_VERSION}"
SENSOR_PREFIX = f"{ROOT}/"  # what every campus/v1 topic starts with
RESERVED_PREFIX = f"{ROOT}/_"  # SafeCampus's own topics (services, alarms)
KINDS = SENSOR_KINDS
__all__ = ["DOOR_EVENTS", "GASES", "KINDS", "LAB_METRICS", "PLAIN_METRICS", "SMOKE_STATES"]  # the contract's words
DEAD_LETTER_KEEP_BYTES = 8 * 1024
INT8_MAX = 2**63 - 1  # seq is stored as bigint
MAX_DIGITS = 40  # integers longer than this are no sensor value (and json refuses > 4,300 digits)


_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
# ``YYYY-MM-DDTHH:MM:SS.mmmZ`` by its separators: with these in place Python's ``fromisoformat`` reads
# only ASCII digits between them (no week dates, no basic form), as the regular expression would.
_SEPARATORS = operator.itemgetter(4, 7, 10, 13, 16, 19, 23)
_PUBLISHED_FORM = ("-", "-", "T", ":", ":", ".", "Z")
_EPOCH_MS_MIN = 946_684_800_000  # 2000-01-01: smaller integers are not epoch milliseconds


@dataclass(frozen=True, slots=True)
class Topic:
    """The parts of a sensor topic ``campus/v1/<building>/<kind>/<sensor_id>``."""

    building: str
    kind: str
    sensor_id: str


@dataclass(slots=True)
class Event:
    """A validated sensor event, ready to store (``build_event`` passes the fields in this order)."""

    topic: str
    building: str
    kind: str
    sensor_id: str
    event_id: str
    ts: datetime
    received_at: datetime
    payload: dict[str, Any]
    seq: int | None = None
    drill: bool = False
    state: str | None = None
    readings: dict[str, float] = field(default_factory=dict)
    raw_json: str = "{}"
    # The time rules and timers use: the event time, unless the device's clock runs ahead of
    # ours by more than the tolerance; then our receive time (no device clock drives timers).
    at: datetime = None  # type: ignore[assignment]  # None until __post_init__ sets it from ts
    clock_ahead: bool = False

    def __post_init__(self) -> None:
        if self.at is None:
            self.at = self.ts


def event_topic(building: str, kind: str, sensor_id: str) -> str:
    """Build the topic a sensor publishes on."""
    for part in (building, sensor_id):
        if not _SEGMENT.match(part):
            raise ContractError(f"invalid topic segment {part!r}")
    if kind not in KINDS:
        raise ContractError(f"unknown kind {kind!r}")
    return f"{ROOT}/{building}/{kind}/{sensor_id}"


def subscription(share_group: str = "") -> str:
    """The ingest subscription, as an MQTT 5 shared subscription when a group is given."""
    base = f"{ROOT}/+/+/+"
    return f"$share/{share_group}/{base}" if share_group else base


def service_topic(service: str, instance: str) -> str:
    """Where a SafeCampus service publishes its retained availability."""
    return f"{ROOT}/_service/{service}/{instance}"


def alarm_topic(alarm_id: int | str) -> str:
    """Where an alarm's retained current state is published."""
    return f"{ROOT}/_alarms/{alarm_id}"


def is_reserved(topic: str) -> bool:
    """True for SafeCampus's own topics (``campus/v1/_service/...``, ``campus/v1/_alarms/...``)."""
    return topic.startswith(RESERVED_PREFIX)


@lru_cache(maxsize=65_536)  # a sensor publishes on the same topic every time; a refused one is not kept
def parse_topic(topic: str) -> Topic:
    """Split a sensor topic into its parts, or raise ContractError."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT:
        raise ContractError(f"topic is not {ROOT}/<building>/<kind>/<sensor_id>")
    building, kind, sensor_id = parts[2], parts[3], parts[4]
    if kind not in KINDS:
        raise ContractError(f"unknown kind {kind!r}")
    if not _SEGMENT.match(building):
        raise ContractError("invalid building in topic")
    if not _SEGMENT.match(sensor_id):
        raise ContractError("invalid sensor id in topic")
    return Topic(building, kind, sensor_id)


def parse_ts(value: Any) -> datetime:
    """Parse an RFC 3339 timestamp with offset, or integer epoch milliseconds."""
    if value.__class__ is str and len(value) == 24 and _SEPARATORS(value) == _PUBLISHED_FORM:
        # What SafeCampus's publishers and most gateways send (``format_ts``): Python reads it without
        # the regular expression (0.3 µs a message). Anything it does not read so takes the path below.
        try:
            published = datetime.fromisoformat(value)
        except ValueError:
            published = None
        if published is not None and published.tzinfo is UTC:
            return published
    if isinstance(value, bool):
        raise ContractError("ts must be RFC 3339 text or epoch milliseconds")
    if isinstance(value, int):
        if not _EPOCH_MS_MIN <= value <= 32_503_680_000_000:
            raise ContractError("ts epoch milliseconds out of range")
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str) and _RFC3339.match(value):
        try:  # the usual form (Python reads RFC 3339 itself, extra fraction digits cut as below)
            parsed: datetime | None = datetime.fromisoformat(value)
        except ValueError:
            parsed = None  # a lower-case t or z: made canonical below
        if parsed is not None and parsed.tzinfo is UTC:
            return parsed
        text = value.replace("z", "Z").replace("Z", "+00:00")
        if "." in text:  # Python keeps microseconds only
            head, rest = text.split(".", 1)
            frac, off = rest[:-6], rest[-6:]
            text = f"{head}.{frac[:6].ljust(6, '0')}{off}"
        try:
            return datetime.fromisoformat(text).astimezone(UTC)
        except (ValueError, OverflowError) as exc:  # OverflowError: year 1 or 9999 moved by its offset
            raise ContractError("ts is not a valid date and time") from exc
    raise ContractError("ts must be RFC 3339 with an offset, or epoch milliseconds")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _reject_constant(name: str) -> Any:
    raise ContractError(f"{name} is not a JSON number")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ContractError(f"an integer of {len(text)} digits is out of range")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise ContractError("a number is out of range")
    return value


# Built once: json.loads(**kw) builds one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_parse_int, parse_float=_parse_float)
# Without a Python call per number: for messages whose numbers are checked where they are used.
FAST_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def decode(topic: str, raw: bytes, received_at: datetime, limits: Limits = Limits()) -> Event:  # noqa: B008
    """Validate one MQTT message against the contract; raise ContractError with the reason.

    Whatever the bytes are, this returns an Event or raises ContractError: any other failure
    of a message's content (a bug here included) is turned into a ContractError, so that no
    message can leave the pipeline unstored and unacknowledged.
    """
    try:
        where = parse_topic(topic)
        payload, canonical = parse_json(raw, limits)
        if not isinstance(payload, dict):
            raise ContractError("payload must be a JSON object")  # noqa: TRY301 - the one place it is said
        return build_event(topic, where, payload, canonical, received_at, limits)
    except ContractError:
        raise
    except Exception as exc:  # noqa: BLE001 - the content of one message must never escape as a crash
        raise ContractError(f"payload could not be decoded ({type(exc).__name__}: {str(exc)[:120]})") from exc


def parse_json(raw: bytes, limits: Limits, decoder: json.JSONDecoder | None = None) -> tuple[Any, str]:
    """Bytes to a JSON value and the canonical text jsonb will take; ContractError when not.

    ``decoder``: another than the contract's own (the device adapters check numbers where they use them).
    """
    if len(raw) > limits.max_payload_bytes:
        raise ContractError(f"payload is {len(raw)} bytes, over the {limits.max_payload_bytes} limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError("payload is not valid UTF-8") from exc
    payload = _read_fast(raw) if decoder is None else _UNREAD
    if payload is _UNREAD:
        try:
            payload = (decoder or _DECODER).decode(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ContractError("payload is not valid JSON") from exc
        except ValueError as exc:  # an integer longer than Python reads
            raise ContractError("payload holds a number out of range") from exc
    if "\\u" in text:
        # Escapes can smuggle in what jsonb refuses (NUL, lone surrogates): re-encode to check.
        try:
            canonical = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
            canonical.encode("utf-8")
        except (UnicodeEncodeError, RecursionError) as exc:
            raise ContractError("payload holds text that is not valid Unicode") from exc
        if "\\u0000" in canonical and _has_nul(payload):
            raise ContractError("payload holds a NUL character")
    else:
        canonical = text  # valid UTF-8 JSON without escapes is already what jsonb accepts
    return payload, canonical


_UNREAD = object()
# orjson reads integers past 64 bits (signed below, unsigned above) as floats, where the contract's
# reader reads integers: such messages (a run of 19 digits or more: -2**63 - 1 has 19) are read by
# the contract's reader. Every digit made a 0, then one search for nineteen 0s (a regular expression
# took four times orjson's whole reading).
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 19


def _read_fast(raw: bytes) -> Any:
    """The JSON value by orjson; ``_UNREAD`` when the contract's own reader must read it (orjson refused
    it, so the reason is said in the contract's words, or it holds a number orjson would read differently).
    orjson refuses what the contract's reader refuses (NaN, infinities, numbers overflowing a double,
    lone surrogates, nesting past its limit): it accepts nothing the contract's reader does not.
    """
    if _LONG_DIGITS in raw.translate(_DIGITS_TO_ZERO):
        return _UNREAD
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _UNREAD


def build_event(topic: str, where: Topic, payload: dict[str, Any], canonical: str, received_at: datetime,
                limits: Limits, ts: datetime | None = None) -> Event:
    """Validate a native payload (a JSON object) for the sensor ``where``; the Event or ContractError.

    Device adapters (``ingest.mqtt.adapters``) build a native payload and come through here too,
    so every event meets the same rules whatever ecosystem it came from.
    """
    event_id = payload.get("event_id")
    if isinstance(event_id, int) and not isinstance(event_id, bool):
        event_id = str(event_id)
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 128:
        raise ContractError("event_id is missing or not text of 1 to 128 characters")
    if ts is None:  # an adapter that read the time itself passes it
        if "ts" not in payload:
            raise ContractError("ts is missing")
        ts = parse_ts(payload["ts"])
    ahead = ts - received_at
    if ahead > limits.max_future:
        raise ContractError(f"ts is {int(ahead.total_seconds())} s in the future (the device clock is wrong)")
    if received_at - ts > limits.max_age:
        raise ContractError(f"ts is older than the {limits.max_age.days}-day retention period")
    named = payload.get("sensor_id")
    if named is not None and named != where.sensor_id:
        raise ContractError("sensor_id in payload differs from the topic")
    seq = payload.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= INT8_MAX):
        raise ContractError(f"seq must be an integer from 0 to {INT8_MAX}")
    drill = payload.get("drill", False)
    if not isinstance(drill, bool):
        raise ContractError("drill must be true or false")
    clock_ahead = ahead > limits.clock_tolerance
    # Positional (in the fields' order): keywords cost 0.4 µs more a message here, the hottest call.
    event = Event(topic, where.building, where.kind, where.sensor_id, event_id, ts, received_at, payload,
                  seq, drill, None, {}, canonical,  # state (set by the kind's check), readings, raw_json
                  received_at if clock_ahead else ts, clock_ahead)  # at, clock_ahead
    CHECKS[where.kind](payload, event)
    return event


def encode(payload: dict[str, Any]) -> bytes:
    """Serialise a payload the way SafeCampus publishers do."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def format_ts(ts: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as publishers send it."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
