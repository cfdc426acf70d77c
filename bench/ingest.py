"""Ingest benchmark. By default: the real `safecampus ingest` against mq-bridge, a raw MQTT →
PostgreSQL bridge, live and draining a backlog, counting only each one's own processes
(``bench/peer.py``). ``--in-process``: the older measurements below.

The real pipeline against a receive-only baseline, through one broker:

(a) baseline: a plain paho subscriber that only receives and counts (QoS 1, automatic acks);
(b) pipeline: the real IngestService storing into PostgreSQL (manual acks after commit);
(c) latency: publish -> commit at a steady 2,000 events/s;
(d) for reference, a subscriber on the ingestor's own receive path (MqttLink, buffered
    reads, acks in batches) that only receives and counts: what the ingestor could take
    if storing cost nothing.
All consume the same kind of stream from the same publisher processes, so their ratios
say what storing costs. Run: .venv/bin/python bench/ingest.py [--events N]

``--source zigbee2mqtt`` (tasmota, chirpstack, ttn, or ``all``) instead measures the device
adapters: the real `safecampus ingest` process (alarm engine on) drains a backlog of the same
readings as campus/v1 messages and as that ecosystem's messages, alternating in one run, and
prints both rates, the ingest process's own CPU per event, and the ratios (goal >= 0.80).
"""

from __future__ import annotations

import argparse
import os
import secrets
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import peer
from common import RowCounter, fresh_database, percentile, private_broker, start_ingest, start_publishers  # noqa: I001
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.core.settings import MqttEndpoint, load_settings
from ingest.db.pool import open_pool
from ingest.mqtt.contract import subscription
from ingest.mqtt.link import MqttLink
from ingest.service.maintainer import IngestService

ROOT = Path(__file__).resolve().parent.parent


def _publish_and_wait(
    mqtt_url: str, events: int, processes: int, done: threading.Event, rate: float = 0.0
) -> tuple[int, float]:
    """Start the publishers a second from now, wait until ``done``; (events sent, start time)."""
    time.sleep(1)
    procs, _done, start_at, total = start_publishers(mqtt_url, events, processes, rate=rate)
    done.wait(600)
    for p in procs:
        p.join()
    return total, start_at


def baseline(mqtt_url: str, events: int, processes: int) -> float:
    """Events/s a bare QoS 1 subscriber receives."""
    ep = MqttEndpoint.from_url(mqtt_url)
    got = {"n": 0, "last": 0.0}
    done = threading.Event()

    def on_message(_c, _u, _m):
        got["n"] += 1
        if got["n"] >= events:
            got["last"] = time.time()
            done.set()

    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"bench-base-{secrets.token_hex(3)}",
        protocol=mqtt.MQTTv5,
    )
    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(subscription("base"), qos=1)
    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = 20000
    client.connect(ep.host, ep.port, properties=props)
    client.loop_start()
    total, start_at = _publish_and_wait(mqtt_url, events, processes, done)
    client.disconnect()
    client.loop_stop()
    return total / (got["last"] - start_at)


def receive_only(mqtt_url: str, events: int, processes: int) -> float:
    """Events/s a subscriber on the ingestor's receive path takes when it only counts."""
    got = {"n": 0, "last": 0.0}
    done = threading.Event()
    unacked: list[int] = []
    link: MqttLink

    def on_messages(messages: list[tuple[bytes, bytes, int, int]], _gen: int) -> None:
        got["n"] += len(messages)
        unacked.extend(mid for _topic, _payload, mid, _qos in messages)
        if len(unacked) >= 500:  # the ingestor acks a batch at a time too
            link.ack_many(unacked)
            unacked.clear()
        if got["n"] >= events:
            got["last"] = time.time()
            done.set()

    link = MqttLink(
        MqttEndpoint.from_url(mqtt_url),
        f"bench-recv-{secrets.token_hex(3)}",
        subscriptions=[subscription("recv")],
        on_message=on_messages,
        manual_ack=True,
        receive_maximum=20000,
    )
    link.start()
    link.wait_subscribed(10)
    total, start_at = _publish_and_wait(mqtt_url, events, processes, done)
    link.stop()
    return total / (got["last"] - start_at)


def pipeline(mqtt_url: str, db_url: str, events: int, processes: int, rate: float = 0.0):
    """Events/s the real pipeline stores, and publish->commit latencies."""
    settings = load_settings(
        db_url=db_url,
        mqtt_url=mqtt_url,
        ingest_id=f"bench{secrets.token_hex(3)}",
        ingest_share_group=f"bench{secrets.token_hex(3)}",
        ingest_health_port=0,
    )
    latencies: list[float] = []
    state = {"stored": 0, "last": 0.0}
    done = threading.Event()

    def on_commit(result):
        now = time.time()
        latencies.extend(now - e.payload["pub_t"] for e in result.inserted)
        state["stored"] += result.stored
        if state["stored"] >= events:
            state["last"] = now
            done.set()

    pool = open_pool(db_url, max_size=3, name="bench")
    svc = IngestService(settings, pool, on_commit=on_commit)
    svc.start()
    svc.link.wait_subscribed(10)
    total, start_at = _publish_and_wait(mqtt_url, events, processes, done, rate)
    svc.stop()
    pool.close()
    return total / (state["last"] - start_at), latencies


def pipeline_processes(mqtt_url: str, db_url: str, events: int, processes: int, workers: int) -> float:
    """Events/s stored by ``workers`` `safecampus ingest` processes on one shared subscription."""
    import psycopg

    group = f"bench{secrets.token_hex(3)}"
    procs = [start_ingest(mqtt_url, db_url, f"{group}-{i}", group) for i in range(workers)]
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = RowCounter(conn, "events")
        before = rows.count()
        time.sleep(4)  # connected and subscribed
        pubs, _done, start_at, total = start_publishers(mqtt_url, events, processes)
        while (stored := rows.count() - before) < total:
            rows.pause(stored, total, time.time() - start_at)
        last = time.time()
    for p in pubs:
        p.join()
    for p in procs:
        p.terminate()
        p.wait(30)
    return total / (last - start_at)


def drain_with_ingest(mqtt_url: str, db_url: str, events: int, processes: int, fmt: str) -> tuple[float, float]:
    """The real `safecampus ingest` drains a backlog of ``events`` readings published as ``fmt``:
    (events/s from its first commit to its last, the ingest process's own CPU µs per event).

    The backlog is published while the ingestor is stopped (its persistent session keeps it),
    so the publishers' work (which differs per format) does not compete with ingest's.
    """
    import psutil
    import psycopg

    tag = secrets.token_hex(3)
    first = start_ingest(mqtt_url, db_url, f"b{tag}", f"b{tag}")
    time.sleep(4)  # connected and subscribed: the broker keeps its session from now on
    first.terminate()
    first.wait(30)
    pubs, _done, _start_at, total = start_publishers(mqtt_url, events, processes, fmt=fmt, building=f"b{tag}")
    for p in pubs:
        p.join()
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = RowCounter(conn, "events", min_s=0.01)
        before = rows.count()
        proc = start_ingest(mqtt_url, db_url, f"b{tag}", f"b{tag}")  # the same id: it resumes the session
        me = psutil.Process(proc.pid)
        try:
            start = None
            seen, moved = 0, time.monotonic()
            while (stored := rows.count() - before) < total:
                if proc.poll() is not None:
                    raise RuntimeError(f"safecampus ingest exited with {proc.returncode}")
                if stored and start is None:
                    t = me.cpu_times()
                    start = (time.time(), stored, t.user + t.system)
                if stored != seen:
                    seen, moved = stored, time.monotonic()
                elif time.monotonic() - moved > 30:
                    dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
                    raise RuntimeError(f"{fmt}: {stored} of {total} stored, nothing more for 30 s "
                                       f"({dead} dead letters in the database)")
                if start is None:
                    time.sleep(rows.min_s)
                else:  # the rate since the first commit
                    rows.pause(stored - start[1], total - start[1], time.time() - start[0])
            last = time.time()
            t = me.cpu_times()
        finally:
            proc.terminate()
            proc.wait(30)
    if start is None:
        raise RuntimeError("the backlog was stored before the first look")
    drained = total - start[1]
    return drained / (last - start[0]), (t.user + t.system - start[2]) / drained * 1e6


def sources(mqtt_url: str, events: int, processes: int, which: list[str]) -> None:
    """Each ecosystem's adapter against the native contract, measured side by side.

    Per ecosystem a fresh database, and native runs before and after it (the tables grow from
    run to run): its rate and CPU are compared with the mean of the two native runs.
    """

    def run(db_url: str, fmt: str) -> tuple[float, float]:
        rate, cpu = drain_with_ingest(mqtt_url, db_url, events, processes, fmt)
        print(f"  {fmt:18}: {rate:9.0f} events/s, ingest CPU {cpu:5.0f} us/event", flush=True)
        return rate, cpu

    print(f"a backlog of {events} readings a run, drained by `safecampus ingest` (alarm engine on)")
    results = []
    for fmt in which:
        with fresh_database() as db_url:
            before, got, after = run(db_url, "native"), run(db_url, fmt), run(db_url, "native")
        native = ((before[0] + after[0]) / 2, (before[1] + after[1]) / 2)
        results.append((fmt, got[0] / native[0], got[1] / native[1]))
    for fmt, rate, cpu in results:
        print(f"{fmt:20}: {rate:.2f} x native rate, {cpu:.2f} x native CPU per event (goal rate >= 0.80)")
    print("homeassistant       : not measured (statestream carries only state changes of bound entities)")


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by this process (the subscriber: baseline or ingest), its finished
    publisher processes, PostgreSQL and Mosquitto: the whole machine's work, for the breakdown."""
    import psutil

    t = os.times()
    out = {
        "subscriber or ingest (this process)": t.user + t.system,
        "publishers": t.children_user + t.children_system,
        "postgresql": 0.0,
        "mosquitto": 0.0,
    }
    for p in psutil.process_iter(["name"]):
        try:
            if p.info["name"] in ("postgres", "mosquitto"):
                t = p.cpu_times()
                # children: the postmaster collects the time of backends that have exited
                out["postgresql" if p.info["name"] == "postgres" else "mosquitto"] += (
                    t.user + t.system + t.children_user + t.children_system
                )
        except psutil.Error:
            continue
    return out


def main() -> None:
    """Run the three measurements and print their figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--publishers", type=int, default=2)
    ap.add_argument("--latency-rate", type=float, default=2000)
    ap.add_argument("--latency-seconds", type=float, default=20)
    ap.add_argument(
        "--workers", type=int, default=0, help="also measure N `safecampus ingest` processes on one shared subscription"
    )
    ap.add_argument("--source", choices=["zigbee2mqtt", "tasmota", "chirpstack", "ttn", "all"],
                    help="measure a device adapter against the native contract instead")
    ap.add_argument("--in-process", action="store_true",
                    help="the older measurements: a receive-only subscriber against the ingest service in this "
                         "process (no alarm engine), and the whole machine's CPU")
    args = ap.parse_args()
    if not args.in_process and not args.source and not args.workers:
        peer.compare(args.events, args.publishers)
        return
    if args.source:
        which = ["zigbee2mqtt", "tasmota", "chirpstack", "ttn"] if args.source == "all" else [args.source]
        with private_broker() as mqtt_url:
            sources(mqtt_url, args.events, args.publishers, which)
        return
    with private_broker() as mqtt_url, fresh_database() as db_url:
        c0 = cpu_seconds()
        base = baseline(mqtt_url, args.events, args.publishers)
        c1 = cpu_seconds()
        print(f"baseline subscriber : {base:9.0f} events/s  ({args.events} events, {args.publishers} publishers)")
        rate, _ = pipeline(mqtt_url, db_url, args.events, args.publishers)
        c2 = cpu_seconds()
        print(f"ingest pipeline     : {rate:9.0f} events/s  -> {rate / base:.2f} x baseline (target >= 0.90)")
        totals = []
        for name, (a, b) in (("baseline", (c0, c1)), ("pipeline", (c1, c2))):
            per = {k: (b[k] - a[k]) / args.events * 1e6 for k in b}
            totals.append(sum(per.values()))
            print(
                f"  CPU per event, {name}: "
                + ", ".join(f"{k} {v:.0f} us" for k, v in per.items())
                + f"; machine total {totals[-1]:.0f} us"
            )
        print(
            f"  when the {os.cpu_count()} cores are the limit, the pipeline can reach at most "
            f"{totals[0] / totals[1]:.2f} x the baseline"
        )
        lean = receive_only(mqtt_url, args.events, args.publishers)
        print(
            f"receive-only, ingest's receive path: {lean:9.0f} events/s  (pipeline = {rate / lean:.2f} x this: "
            "the share storing leaves)"
        )
        if args.workers:
            many = pipeline_processes(mqtt_url, db_url, args.events, args.publishers, args.workers)
            print(f"{args.workers} ingest processes : {many:9.0f} events/s  -> {many / base:.2f} x baseline")
        # Let autovacuum's catching up with the throughput phase's rows not count as latency.
        import psycopg

        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        n = int(args.latency_rate * args.latency_seconds)
        _, lat = pipeline(mqtt_url, db_url, n, args.publishers, rate=args.latency_rate)
        print(
            f"latency at {args.latency_rate:.0f}/s   : publish->commit p50 {percentile(lat, 50) * 1000:.0f} ms, "
            f"p99 {percentile(lat, 99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms over {len(lat)} events "
            "(target p99 < 250 ms)"
        )


if __name__ == "__main__":
    main()
