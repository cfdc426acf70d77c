"""Record live MQTT traffic to JSON Lines, and turn recordings (or stored events) back into a feed."""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from ingest.db import queries as dbq
from ingest.mqtt.contract import ContractError, event_topic, format_ts, parse_ts, subscription
from ingest.mqtt.link import MqttLink
from sensors_sim.life import SimMessage

logger = logging.getLogger(__name__)



def record(link: MqttLink, path: Path, stop: threading.Event, duration_s: float | None = None,
           also: list[str] | None = None) -> int:
    """Write every sensor message to ``path`` (one JSON object a line) until stopped.

    ``also``: more topic filters (the device adapters' ecosystems), recorded byte for byte.
    """
    inbox: queue.Queue[tuple[float, str, bytes]] = queue.Queue()

    def on_messages(messages: list[tuple[bytes, bytes, int, int]], _gen: int) -> None:  # network thread: no I/O
        t = datetime.now(UTC).timestamp()
        for topic, payload, _mid, _qos in messages:
            inbox.put((t, topic.decode("utf-8", "replace"), payload))

    link._handler = on_messages  # noqa: SLF001 - set before start
    link.subscriptions = [subscription(), *(also or [])]
    link.start()
    count = 0
    deadline = None if duration_s is None else datetime.now(UTC).timestamp() + duration_s
    with path.open("a", encoding="utf-8") as out:
        while not stop.is_set() and (deadline is None or datetime.now(UTC).timestamp() < deadline):
            try:
                t, topic, raw = inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            if topic.startswith("campus/v1/_"):
                continue
            try:
                body: dict[str, Any] = {"text": raw.decode("utf-8")}
            except UnicodeDecodeError:
                body = {"b64": base64.b64encode(raw).decode()}
            out.write(json.dumps({"t": t, "topic": topic, **body}, ensure_ascii=False) + "\n")
            if inbox.empty():
                out.flush()  # a reader (or a crash) sees everything received so far
            count += 1
    return count


def read_recording(path: Path) -> Iterator[tuple[float, str, bytes]]:
    """(receive time, topic, payload bytes) for each recorded line."""
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                raw = row["text"].encode("utf-8") if "text" in row else base64.b64decode(row["b64"])
                yield float(row["t"]), str(row["topic"]), raw
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}:{n}: not a recording line ({exc})") from exc


def _event_time(raw: bytes) -> datetime | None:
    try:
        return parse_ts(json.loads(raw)["ts"])
    except (ValueError, KeyError, TypeError, ContractError):
        return None


def to_feed(records: Iterator[tuple[float, str, bytes]], *, shift_to_now: bool = False,
            drill: bool = False) -> Iterator[SimMessage]:
    """Recorded messages as a feed, optionally moved to the present and marked as drill.

    Pacing follows the receive times. With ``shift_to_now`` every event time moves by the
    same amount, so that the first event happens now.
    """
    shift = timedelta(0)
    first = True
    for t, topic, raw in records:
        at = datetime.fromtimestamp(t, tz=UTC)
        if first and shift_to_now:
            shift = datetime.now(UTC) - (_event_time(raw) or at)
        first = False
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not topic.startswith("campus/"):
            # Sent as it was: a bad message is dead-lettered again, and another ecosystem's message
            # (no ts of ours to shift) gets the same event id from the same bytes.
            yield SimMessage(at + shift, topic, {}, raw=raw)
            continue
        if shift_to_now and "ts" in payload:
            try:
                payload["ts"] = format_ts(parse_ts(payload["ts"]) + shift)
            except ContractError:
                pass
        if drill:
            payload["drill"] = True
        yield SimMessage(at + shift, topic, payload)


def stored_feed(conn: psycopg.Connection, since: datetime, until: datetime) -> Iterator[tuple[float, str, bytes]]:
    """Stored events of a time range, as recording lines (paced by their event time)."""
    rows = conn.execute(dbq.REPLAY_STORED_EVENTS, {"since": since, "until": until})
    for time_, building, kind, sensor, payload in rows:
        yield time_.timestamp(), event_topic(building, kind, sensor), json.dumps(payload).encode()
