"""``safecampus sim load``: a steady rate of valid QoS 1 events from several processes."""

from __future__ import annotations

import json
import multiprocessing as mp
import secrets
import threading
import time
from datetime import UTC, datetime

from ingest.config import MqttEndpoint
from ingest.contract import format_ts


def _worker(mqtt_url: str, index: int, rate: float, seconds: float, out: mp.Queue) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    ep = MqttEndpoint.from_url(mqtt_url)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                         client_id=f"safecampus-load-{index}-{secrets.token_hex(3)}", protocol=mqtt.MQTTv5)
    if ep.username:
        client.username_pw_set(ep.username, ep.password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(ep.host, ep.port)
    client.loop_start()
    t0 = time.monotonic()
    sent, pending = 0, []
    while time.monotonic() - t0 < seconds:
        due = t0 + sent / rate
        if due > time.monotonic():
            time.sleep(due - time.monotonic())
        body = json.dumps({"event_id": f"load-{index}-{sent}-{int(t0)}", "ts": format_ts(datetime.now(UTC)),
                           "readings": {"temperature_c": 21.0 + (sent % 10) / 10}})
        pending.append(client.publish(f"campus/v1/load/lab/load-{index}-{sent % 200}", body, qos=1))
        sent += 1
        if len(pending) >= 500:
            for p in pending:
                p.wait_for_publish(30)
            pending.clear()
    for p in pending:
        p.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()
    out.put((sent, time.monotonic() - t0))


def run_load(mqtt_url: str, rate: float, seconds: float, processes: int, stop: threading.Event) -> tuple[float, int]:
    """Publish ``rate`` events/s for ``seconds``; returns (achieved rate, events sent)."""
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(mqtt_url, i, rate / processes, seconds, out)) for i in range(processes)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    sent = sum(r[0] for r in results)
    return sent / max(r[1] for r in results), sent
