"""Small helpers the adapters share: JSON objects, text payloads, a base class."""

from __future__ import annotations

from typing import Any

from ingest.core.errors import ContractError
from ingest.core.intake import Limits
from ingest.mqtt.adapters.base import COMMON_FIELDS, Reading
from ingest.mqtt.contract import FAST_DECODER, parse_json


def json_object(raw: bytes, limits: Limits, what: str) -> tuple[dict[str, Any], str]:
    """The payload as a JSON object and its canonical text; ContractError naming what it should have been."""
    # Every number used is checked where it becomes a value (base.convert, the contract's ranges).
    payload, canonical = parse_json(raw, limits, FAST_DECODER)
    if not isinstance(payload, dict):
        raise ContractError(f"{what} must be a JSON object")
    return payload, canonical


def text(raw: bytes, limits: Limits) -> str:
    """A short text payload ('online', 'ON', '21.5'), a JSON string unquoted."""
    if len(raw) > limits.max_payload_bytes:
        raise ContractError(f"payload is {len(raw)} bytes, over the {limits.max_payload_bytes} limit")
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise ContractError("payload is not valid UTF-8") from exc
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


class BaseAdapter:
    """Defaults: the common field names, false fields sent, nothing implied by a sensor's kind."""

    name = ""
    names: dict[str, str] = COMMON_FIELDS
    omits_false = False

    def filters(self) -> list[str]:
        """The topic filters to subscribe to."""
        raise NotImplementedError

    def claims(self, topic: str) -> bool:
        """True for a topic of this ecosystem."""
        raise NotImplementedError

    def read(self, topic: str, raw: bytes, limits: Limits) -> Reading | None:
        """The message as a Reading; None for what is no device data."""
        raise NotImplementedError

    def implied(self, kind: str, reading: Reading) -> dict[str, str]:
        """Nothing: the field names say what a value is."""
        return {}
