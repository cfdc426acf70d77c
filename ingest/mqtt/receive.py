"""A paho client with a buffered receive path for a high-rate QoS 1 subscriber.

paho reads every packet with three to five ``recv`` calls (type byte, each length
byte, body) after one ``select``, builds a v5 ``Properties`` object and an
``MQTTMessage`` per PUBLISH, and sends every PUBACK as its own packet with its own
wake-up of the network thread. At thousands of messages a second that is most of the
ingestor's CPU. This subclass changes only how bytes come in and acks go out:

- ``_packet_read`` drains the socket in large reads and splits the buffer into packets
  itself; the QoS 0/1 PUBLISH packets of one read go to ``on_publishes`` as one list of
  ``(topic, payload, mid, qos)`` (topic and payload as bytes; PUBLISH properties are skipped,
  SafeCampus uses none), in the order sent: one call per read, not one per message;
  every other packet (CONNACK, SUBACK, PUBACK, PINGRESP, DISCONNECT, a QoS 2 PUBLISH)
  is handed to paho's own handler exactly as paho's reader would, after the publishes
  before it.
- ``ack_many`` queues the PUBACKs of a whole batch as one write.

Connection, session, subscriptions, keepalive, reconnects, TLS, publishing and every
callback stay paho's. It uses paho's private reader state, so it is written against
paho-mqtt 2.2 (the range pinned in pyproject.toml); tests/unit/test_mqtt_receive.py checks
it on a byte stream cut at every awkward boundary. (Home Assistant's MQTT client reaches
into paho's internals too, for the same reason: speed.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.exception import MalformedPacket

RawPublish = tuple[bytes, bytes, int, int]  # topic, payload, mid, qos
RawPublishHandler = Callable[[list[RawPublish]], None]

_READ_SIZE = 65536
_READ_LIMIT = 1 << 20  # bytes taken per wake-up, so writes and keepalive get their turn
_PUBLISH = mqtt.PUBLISH
_PUBACK = mqtt.PUBACK


def _empty_in_packet() -> dict[str, Any]:
    return {"command": 0, "have_remaining": 0, "remaining_count": [], "remaining_mult": 1,
            "remaining_length": 0, "packet": bytearray(b""), "to_process": 0, "pos": 0}


class BufferedClient(mqtt.Client):
    """paho ``Client`` whose incoming QoS 0/1 PUBLISH packets bypass the per-message path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_publishes: RawPublishHandler | None = None
        self._rbuf = bytearray()
        self._rbuf_sock: object = None

    def ack_many(self, mids: Iterable[int]) -> None:
        """Acknowledge QoS 1 messages (manual-ack mode) with one write for all of them."""
        packet = b"".join(b"\x40\x02" + mid.to_bytes(2, "big") for mid in mids)
        if packet:
            self._packet_queue(_PUBACK, packet, 0, 0)

    # -- paho hook: called by loop_read when the socket is readable ------------------------
    def _packet_read(self) -> mqtt.MQTTErrorCode:
        sock = self._sock
        if sock is None:
            return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
        if sock is not self._rbuf_sock:  # a new connection: nothing of the old one is valid
            self._rbuf = bytearray()
            self._rbuf_sock = sock
        taken = 0
        rc = mqtt.MQTTErrorCode.MQTT_ERR_AGAIN
        while taken < _READ_LIMIT:
            try:
                data = self._sock_recv(_READ_SIZE)
            except BlockingIOError:
                break
            except OSError as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
                return mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST
            if not data:
                return mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST
            taken += len(data)
            self._rbuf += data
            rc = self._split_packets()
            if rc != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS or self._sock is not sock:
                break
            if len(data) < _READ_SIZE and not getattr(sock, "pending", lambda: 0)():
                rc = mqtt.MQTTErrorCode.MQTT_ERR_AGAIN  # drained: back to select
                break
        if taken:
            with self._msgtime_mutex:
                self._last_bytes_received = mqtt.time_func()
        return rc

    def _split_packets(self) -> mqtt.MQTTErrorCode:
        buf = self._rbuf
        end_of_data = len(buf)
        pos = 0
        rc = mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        handler = self.on_publishes
        v5 = self._protocol == mqtt.MQTTv5
        publishes: list[RawPublish] = []
        view = memoryview(buf)  # topic and payload copied out once each (a bytearray slice copies twice)
        try:
            while end_of_data - pos >= 2:
                command = buf[pos]
                length = buf[pos + 1]
                if length < 0x80:  # a length in one byte or two (any message under 16 kB): no call
                    i = pos + 2
                elif end_of_data - pos >= 3 and buf[pos + 2] < 0x80:
                    length = (length & 0x7F) | buf[pos + 2] << 7
                    i = pos + 3
                else:
                    length, i = _varint(buf, pos + 1, end_of_data)
                    if length < 0:
                        break  # length bytes not all here yet
                end = i + length
                if end > end_of_data:
                    break
                qos = (command >> 1) & 3
                if command & 0xF0 == _PUBLISH and qos < 2 and handler is not None:
                    topic_end = i + 2 + (buf[i] << 8 | buf[i + 1]) if length >= 2 else end + 1
                    j = topic_end + (2 if qos else 0)
                    if j > end:
                        raise MalformedPacket("PUBLISH shorter than its header")  # noqa: TRY301 - hot loop: no helper call
                    mid = buf[topic_end] << 8 | buf[topic_end + 1] if qos else 0
                    if v5:
                        if j < end and buf[j] < 0x80:  # properties' length in one byte (usually 0)
                            props_len = buf[j]
                            j += 1
                        else:
                            props_len, j = _varint(buf, j, end)
                        if props_len < 0 or j + props_len > end:
                            raise MalformedPacket("bad PUBLISH properties length")  # noqa: TRY301 - hot loop
                        j += props_len
                    publishes.append((view[i + 2:topic_end].tobytes(), view[j:end].tobytes(), mid, qos))
                    pos = end
                else:
                    if publishes:  # what came before this packet is handled before it
                        done, publishes = publishes, []
                        self._deliver(done)
                    packet = _empty_in_packet()
                    packet.update(command=command, have_remaining=1, remaining_length=length,
                                  packet=bytearray(buf[i:end]))
                    self._in_packet = packet  # type: ignore[assignment]
                    pos = end
                    try:
                        rc = self._packet_handle()
                    finally:
                        self._in_packet = _empty_in_packet()  # type: ignore[assignment]
                    if rc != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS or self._sock is None:
                        break
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL
        finally:
            view.release()  # a bytearray with a view on it cannot shrink
            del buf[:pos]
            if publishes:  # the well-formed ones before a malformed packet too
                done, publishes = publishes, []
                self._deliver(done)
        return rc

    def _deliver(self, publishes: list[RawPublish]) -> None:
        if self.on_publishes is not None:
            self.on_publishes(publishes)
        if not self._manual_ack:
            for _topic, _payload, mid, qos in publishes:
                if qos:
                    self._send_puback(mid)


def _varint(buf: bytearray, i: int, limit: int) -> tuple[int, int]:
    """MQTT variable byte integer at ``buf[i]``: (value, index after it); value -1 when cut off."""
    value = 0
    shift = 0
    while i < limit:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7
        if shift > 21:
            raise MalformedPacket("variable byte integer longer than 4 bytes")
    return -1, i
