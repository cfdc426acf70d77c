"""A paho-mqtt 2.x client set up the way every SafeCampus process needs it.

Subscribes again on every connect, checks the CONNACK reason code, stops retrying on
authentication errors, publishes a retained availability status with a last will, and
logs (never raises) exceptions from the message callback. Messages come in through the
buffered receive path of ``ingest.mqtt.receive`` (raw topic and payload bytes; batched acks).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.core.settings import MqttEndpoint
from ingest.mqtt.receive import BufferedClient, RawPublish

logger = logging.getLogger(__name__)

# The messages of one socket read as (topic, payload, mid, qos), and the connection generation;
# called on paho's network thread
MessageHandler = Callable[[list[RawPublish], int], None]
_AUTH_FAILURES = {"Bad user name or password", "Not authorized", "Banned"}


class MqttLink:
    """One paho client with reconnect, resubscribe and an availability topic."""

    def __init__(
        self,
        endpoint: MqttEndpoint,
        client_id: str,
        *,
        subscriptions: Sequence[str] = (),
        on_message: MessageHandler | None = None,
        status_topic: str | None = None,
        persistent_session: bool = False,
        session_expiry_s: int = 0,
        manual_ack: bool = False,
        receive_maximum: int | None = None,
        maximum_packet_size: int | None = None,
        keepalive: int = 30,
    ) -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self.subscriptions = list(subscriptions)
        self.status_topic = status_topic
        self.connected = threading.Event()
        # Set once the broker has granted every subscription of this connection (SUBACK):
        # only then does a message published by someone else surely reach us.
        self.subscribed = threading.Event()
        self._pending_subscriptions: set[int] = set()
        self.generation = 0  # bumped on every (re)connect; acks from older ones are void
        self.fatal_error: str | None = None
        self.on_state_change: Callable[[bool], None] | None = None
        # Called (network thread) with (mid, reason code value) for every acknowledged publish.
        self.on_published: Callable[[int, int], None] | None = None
        self._handler = on_message
        self._persistent = persistent_session
        self._session_expiry = session_expiry_s
        self._receive_maximum = receive_maximum
        self._maximum_packet_size = maximum_packet_size
        self._keepalive = keepalive
        self._v5 = endpoint.protocol == "5"
        self._started = False
        self._client = BufferedClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            clean_session=None if self._v5 else not persistent_session,
            manual_ack=manual_ack,
        )
        if endpoint.username:
            self._client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            self._client.tls_set(
                ca_certs=str(endpoint.ca_file) if endpoint.ca_file else None,
                certfile=str(endpoint.cert_file) if endpoint.cert_file else None,
                keyfile=str(endpoint.key_file) if endpoint.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        if status_topic:
            self._client.will_set(status_topic, b"offline", qos=1, retain=True)
        self._client.max_queued_messages_set(0)
        self._client.max_inflight_messages_set(1000)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publishes = self._on_publishes
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe

    @property
    def paho(self) -> mqtt.Client:
        """The underlying paho client (for publish and ack)."""
        return self._client

    def start(self) -> None:
        """Connect in the background; paho's thread reconnects by itself."""
        props = None
        if self._v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self._session_expiry if self._persistent else 0
            if self._receive_maximum:
                props.ReceiveMaximum = self._receive_maximum
            if self._maximum_packet_size:
                props.MaximumPacketSize = self._maximum_packet_size
        self._client.connect_async(
            self.endpoint.host,
            self.endpoint.port,
            keepalive=self._keepalive,
            clean_start=(not self._persistent) if self._v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props,
        )
        self._client.loop_start()
        self._started = True

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected (or a fatal error); True when connected."""
        return self.connected.wait(timeout)

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until connected and every subscription granted; True when so."""
        return self.subscribed.wait(timeout)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> mqtt.MQTTMessageInfo:
        """Publish through the client's queue (thread-safe)."""
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def ack_many(self, mids: list[int]) -> None:
        """Acknowledge QoS 1 messages to the broker (manual-ack mode), in one write."""
        self._client.ack_many(mids)

    def network_alive(self) -> bool:
        """False once paho's network thread (started by ``start``) has died."""
        thread = self._client._thread  # noqa: SLF001 - paho keeps no public handle on it
        return thread is None or thread.is_alive() or not self._started


    def stop(self, timeout: float = 5.0) -> None:
        """Publish ``offline``, disconnect cleanly, stop the network thread."""
        if self.status_topic and self.connected.is_set():
            info = self._client.publish(self.status_topic, b"offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                logger.warning("could not publish offline status for %s", self.client_id)
        self._started = False
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    # -- paho callbacks (network thread) ------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            text = str(reason)
            logger.error("MQTT connect to %s refused: %s", self.endpoint.url(), text)
            if text in _AUTH_FAILURES:
                # Retrying with the same credentials cannot help; stop and say so.
                self.fatal_error = f"broker refused {self.client_id}: {text}"
                client.disconnect()
            return
        self.generation += 1
        self.subscribed.clear()
        self._pending_subscriptions = {mid for topic in self.subscriptions
                                       if (mid := client.subscribe(topic, qos=1)[1]) is not None}
        if not self._pending_subscriptions:
            self.subscribed.set()
        if self.status_topic:
            client.publish(self.status_topic, b"online", qos=1, retain=True)
        logger.info("MQTT connected to %s as %s (session %s)", self.endpoint.url(), self.client_id,
                    "resumed" if flags.session_present else "new")
        self.connected.set()
        if self.on_state_change:
            self.on_state_change(True)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, reasons: list[Any], _p: Any) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            logger.error("MQTT broker %s refused a subscription of %s: %s", self.endpoint.url(), self.client_id,
                         ", ".join(refused))
            return  # never "subscribed": health stays degraded and says why in the log
        self._pending_subscriptions.discard(mid)
        if not self._pending_subscriptions:
            self.subscribed.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        self.subscribed.clear()
        if was:
            logger.warning("MQTT disconnected from %s: %s", self.endpoint.url(), reason)
            if self.on_state_change:
                self.on_state_change(False)

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        if self.on_published:
            self.on_published(mid, int(getattr(reason, "value", 0) or 0))

    def _on_publishes(self, messages: list[RawPublish]) -> None:
        if self._handler is None:
            return
        try:
            self._handler(messages, self.generation)
        except Exception:  # a bug in a handler must never stop the client
            topic, payload, _mid, _qos = messages[0]
            logger.exception("error handling %d messages from %r (payload %r)", len(messages), topic[:200],
                             payload[:100])
