"""``safecampus sim load`` (and the benchmarks): steady QoS 1 events from several processes."""

from __future__ import annotations

import json
import multiprocessing as mp
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.core.settings import MqttEndpoint
from ingest.mqtt.contract import format_ts
from sensors_sim.life import SimMessage


@dataclass(frozen=True)
class LoadPlan:
    """What one publisher process sends: at ``rate`` events/s (0 = as fast as it can),
    for ``seconds`` or ``count`` events, starting at wall time ``start_at``.
    """

    mqtt_url: str
    index: int
    rate: float = 0.0
    seconds: float | None = None
    count: int | None = None
    start_at: float = 0.0
    building: str = "load"
    format: str = "native"  # or an ecosystem's (sensors_sim.formats): the same readings as its devices say them


def publisher(plan: LoadPlan, out: mp.Queue) -> None:
    """One publisher process; puts (sent, seconds) on ``out`` when done.

    Each payload carries ``pub_t`` (wall time of publishing) so benchmarks can measure
    latency; ingest stores it like any unknown field.
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    ep = MqttEndpoint.from_url(plan.mqtt_url)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"safecampus-load-{plan.index}-{secrets.token_hex(3)}",
        protocol=mqtt.MQTTv5,
    )
    if ep.username:
        client.username_pw_set(ep.username, ep.password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    connected = threading.Event()
    client.on_connect = lambda _c, _u, _f, reason, _p: None if reason.is_failure else connected.set()
    client.connect(ep.host, ep.port)
    client.loop_start()
    # Publishing before the CONNACK fails at once; on a busy machine that can outlast start_at.
    if not connected.wait(60):
        client.loop_stop()
        raise RuntimeError(f"load publisher {plan.index} could not connect to {ep.url()}")
    while time.time() < plan.start_at:
        time.sleep(0.001)
    convert = _converter(plan)
    t0 = time.monotonic()
    sent, pending = 0, []
    run = f"{int(time.time())}"
    while (plan.count is None or sent < plan.count) and (plan.seconds is None or time.monotonic() - t0 < plan.seconds):
        if plan.rate:
            due = t0 + sent / plan.rate
            while time.monotonic() < due:
                time.sleep(max(0.0, min(due - time.monotonic(), 0.002)))
        now = time.time()
        payload = {
            "event_id": f"{run}-{plan.index}-{sent}",
            "ts": format_ts(datetime.fromtimestamp(now, UTC)),
            "pub_t": now,
            # a value that differs message to message: a source without event ids or sub-second times
            # (Tasmota) tells two messages apart by their content
            "readings": {"temperature_c": 21.0 + (sent % 10) / 10, "humidity_pct": 40 + (sent % 100_000) / 10_000},
        }
        topic = f"campus/v1/{plan.building}/lab/{plan.building}-{plan.index}-{sent % 100}"
        if convert is None:
            body: bytes | str = json.dumps(payload)
        else:
            msg = convert(SimMessage(datetime.fromtimestamp(now, UTC), topic, payload))
            if msg is None:
                raise RuntimeError(f"format {plan.format} cannot carry lab readings")
            topic, body = msg.topic, msg.body()
        pending.append(client.publish(topic, body, qos=1))
        sent += 1
        if len(pending) >= 500:
            for p in pending:
                p.wait_for_publish(60)
            pending.clear()
    for p in pending:
        p.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    out.put((sent, time.monotonic() - t0))


def _converter(plan: LoadPlan) -> Any:
    """A converter to the plan's format for its 100 sensors (None for campus/v1 itself)."""
    if plan.format == "native":
        return None
    from ingest.core.site import SiteSensor
    from sensors_sim.formats import Converter

    convert = Converter(plan.format, None)
    convert.sensors = {
        sid: SiteSensor(id=sid, kind="lab", building=plan.building, room="", zone="", department="", name=sid,
                        interval_s=10, metrics=["temperature_c", "humidity_pct"], thresholds={})
        for sid in (f"{plan.building}-{plan.index}-{n}" for n in range(100))
    }
    return convert


def start(plans: list[LoadPlan]) -> tuple[list[Any], mp.Queue]:
    """Start one process per plan."""
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=publisher, args=(p, out)) for p in plans]
    for p in procs:
        p.start()
    return procs, out


def run_load(mqtt_url: str, rate: float, seconds: float, processes: int, _stop: threading.Event) -> tuple[float, int]:
    """Publish ``rate`` events/s for ``seconds``; returns (achieved rate, events sent)."""
    procs, out = start([LoadPlan(mqtt_url, i, rate / processes, seconds=seconds) for i in range(processes)])
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    sent = sum(r[0] for r in results)
    return sent / max(r[1] for r in results), sent
