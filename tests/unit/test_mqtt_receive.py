"""The buffered receive path splits a byte stream into exactly the packets a broker sent.

Packets are written to one end of a socket pair in chunks of every awkward size; the
client reads the other end as it would a broker connection.
"""

from __future__ import annotations

import socket

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest.mqtt.receive import BufferedClient


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _publish(topic: bytes, payload: bytes, mid: int, qos: int, props: bytes | None) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"")
    if props is not None:  # MQTT 5: properties length, then the properties
        body += _varint(len(props)) + props
    body += payload
    return bytes([0x30 | qos << 1]) + _varint(len(body)) + body


PINGRESP = b"\xd0\x00"
# MQTT 5 PUBLISH properties: content type (0x03) "application/json", a user property (0x26)
PROPS = b"\x03\x00\x10application/json" + b"\x26\x00\x04site\x00\x05north"


def _client(protocol: int) -> tuple[BufferedClient, socket.socket, list[tuple[bytes, bytes, int, int]]]:
    client = BufferedClient(callback_api_version=CallbackAPIVersion.VERSION2, client_id="t", protocol=protocol,
                            manual_ack=True)
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    client._sock = ours  # noqa: SLF001 - stands in for the broker connection
    got: list[tuple[bytes, bytes, int, int]] = []
    client.on_publishes = got.extend
    return client, broker, got


@pytest.mark.parametrize("protocol", [mqtt.MQTTv5, mqtt.MQTTv311])
@pytest.mark.parametrize("chunk", [1, 2, 7, 4096, 1 << 20])
def test_every_publish_arrives_once_and_intact_whatever_the_read_boundaries(protocol: int, chunk: int) -> None:
    client, broker, got = _client(protocol)
    v5 = protocol == mqtt.MQTTv5
    expected = []
    stream = bytearray()
    # payload sizes around each change in the length's byte count (1, 2, 3 bytes)
    for n, size in enumerate([0, 1, 100, 121, 122, 127, 128, 16_000, 16_384, 70_000]):
        topic = f"campus/v1/b/lab/s{n}-é".encode()
        payload = bytes((n + i) % 256 for i in range(size))
        qos = n % 2
        mid = 65_535 - n if qos else 0
        props = (PROPS if n % 3 else b"") if v5 else None
        stream += _publish(topic, payload, mid, qos, props)
        stream += PINGRESP  # a packet paho handles itself, between publishes
        expected.append((topic, payload, mid, qos))
    client._ping_t = 1.0  # noqa: SLF001 - PINGRESP resets it, which shows paho saw the packet
    for i in range(0, len(stream), chunk):
        broker.sendall(stream[i:i + chunk])
        while client._packet_read() == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS:  # noqa: SLF001
            pass
    assert got == expected
    assert client._ping_t == 0  # noqa: SLF001
    assert client._rbuf == b""  # noqa: SLF001


def test_a_cut_off_packet_waits_for_the_rest() -> None:
    client, broker, got = _client(mqtt.MQTTv5)
    packet = _publish(b"campus/v1/b/door/d1", b'{"event_id":"x"}', 7, 1, b"")
    broker.sendall(packet[:-1])
    client._packet_read()  # noqa: SLF001
    assert got == []
    broker.sendall(packet[-1:])
    client._packet_read()  # noqa: SLF001
    assert got == [(b"campus/v1/b/door/d1", b'{"event_id":"x"}', 7, 1)]


def test_the_publishes_of_one_read_come_in_one_call_and_before_the_packet_after_them() -> None:
    client, broker, _ = _client(mqtt.MQTTv5)
    calls: list[tuple[list[tuple[bytes, bytes, int, int]], float]] = []
    client.on_publishes = lambda msgs: calls.append((list(msgs), client._ping_t))  # noqa: SLF001
    client._ping_t = 1.0  # noqa: SLF001 - the PINGRESP resets it: which call saw it says the order
    first = [(b"campus/v1/b/lab/a", b"1", 1, 1), (b"campus/v1/b/lab/b", b"2" * 300, 2, 1)]
    last = [(b"campus/v1/b/lab/c", b"3", 0, 0)]
    stream = b"".join(_publish(t, p, m, q, b"") for t, p, m, q in first) + PINGRESP
    stream += b"".join(_publish(t, p, m, q, b"") for t, p, m, q in last)
    broker.sendall(stream)
    client._packet_read()  # noqa: SLF001
    assert calls == [(first, 1.0), (last, 0)]


def test_the_publishes_before_a_malformed_packet_are_delivered_and_acked_once() -> None:
    client = BufferedClient(callback_api_version=CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv5)
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    client._sock = ours  # noqa: SLF001
    got: list[tuple[bytes, bytes, int, int]] = []
    client.on_publishes = got.extend
    good = (b"campus/v1/b/door/d1", b'{"event_id":"x"}', 9, 1)
    broker.sendall(_publish(*good, b"") + b"\x32\x00")
    assert client._packet_read() == mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL  # noqa: SLF001
    assert got == [good]
    broker.settimeout(0.5)
    assert broker.recv(100) == b"\x40\x02\x00\x09"  # its PUBACK, once
    with pytest.raises(TimeoutError):
        broker.recv(100)


@pytest.mark.parametrize("packet", [
    b"\x32\xff\xff\xff\xff\x01",  # remaining length longer than 4 bytes
    b"\x32\x00",  # a PUBLISH with no room for its topic length
    b"\x32\x04\x00\x02ab",  # topic, but no message id
    b"\x32\x07\x00\x02ab\x00\x01\x05",  # properties longer than the packet
])
def test_a_malformed_packet_is_a_protocol_error(packet: bytes) -> None:
    client, broker, got = _client(mqtt.MQTTv5)
    broker.sendall(packet)
    assert client._packet_read() == mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL  # noqa: SLF001
    assert got == []


def test_a_closed_connection_is_reported() -> None:
    client, broker, got = _client(mqtt.MQTTv5)
    broker.close()
    assert client._packet_read() == mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST  # noqa: SLF001
    assert got == []


def test_acks_for_a_batch_go_out_as_one_write_of_standard_pubacks() -> None:
    client, broker, _ = _client(mqtt.MQTTv5)
    client.ack_many([1, 300, 65_535])
    broker.settimeout(2)
    assert broker.recv(100) == b"\x40\x02\x00\x01" + b"\x40\x02\x01\x2c" + b"\x40\x02\xff\xff"
