"""The broker as production runs it: gateways held to their building by the ACL, and TLS."""

from __future__ import annotations

import secrets
import shutil
import ssl
import subprocess
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest.app.embedded import EmbeddedBroker
from ingest.core.site import Site
from ingest.mqtt.acl import gateway_user, render_acl
from tests.conftest import wait_until
from tests.integration.helpers import now_ts, running_ingest, scalar

NOT_AUTHORIZED = 135


class Client:
    """A plain MQTT 5 client that records the broker's answer to each publish and subscribe."""

    def __init__(self, port: int, user: str | None = None, password: str | None = None, *,
                 ca: Path | None = None) -> None:
        self.paho = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                client_id=f"t-{secrets.token_hex(4)}", protocol=mqtt.MQTTv5)
        if user:
            self.paho.username_pw_set(user, password)
        if ca:
            self.paho.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)
        self.connack: int | None = None
        self.answers: dict[int, int] = {}
        self.done = threading.Condition()
        self.paho.on_connect = lambda _c, _u, _f, rc, _p: self._answer("connack", rc.value)
        self.paho.on_publish = lambda _c, _u, mid, rc, _p: self._answer(mid, rc.value)
        self.paho.on_subscribe = lambda _c, _u, mid, rcs, _p: self._answer(mid, rcs[0].value)
        self.received: list[str] = []
        self.paho.on_message = lambda _c, _u, msg: self.received.append(msg.topic)
        self.paho.connect("127.0.0.1", port)
        self.paho.loop_start()
        wait_until(lambda: self.connack is not None, 10, what="CONNACK")

    def _answer(self, key: object, code: int) -> None:
        with self.done:
            if key == "connack":
                self.connack = code
            else:
                self.answers[key] = code  # type: ignore[index]
            self.done.notify_all()

    def publish(self, topic: str, payload: bytes) -> int:
        """The PUBACK reason code of one QoS 1 publish."""
        mid = self.paho.publish(topic, payload, qos=1).mid
        wait_until(lambda: mid in self.answers, 10, what=f"PUBACK for {topic}")
        return self.answers[mid]

    def subscribe(self, topic: str) -> int:
        """The SUBACK reason code."""
        _, mid = self.paho.subscribe(topic, qos=1)
        wait_until(lambda: mid in self.answers, 10, what=f"SUBACK for {topic}")
        return self.answers[mid]

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


def _site() -> Site:
    return Site.model_validate({
        "name": "acl test", "departments": [{"id": "d", "name": "D"}],
        "buildings": [{"id": b, "name": b, "use": "lab", "department": "d", "floors": 1,
                       "outline": [[0, 0], [1, 0], [1, 1]], "rooms": []} for b in ("b1", "b2")]})


@pytest.fixture
def acl_broker(tmp_path):
    """Our own Mosquitto with passwords and the ACL made from a two-building site."""
    if not shutil.which("mosquitto_passwd"):
        pytest.fail("mosquitto_passwd is required (Debian's mosquitto)", pytrace=False)
    root = tmp_path / "mqtt"
    root.mkdir()
    (root / "acl").write_text(render_acl(_site()))
    passwords = {u: secrets.token_urlsafe(12) for u in ("ingest", "dashboard", "sim", gateway_user("b1"),
                                                        gateway_user("b2"))}
    for i, (user, password) in enumerate(passwords.items()):
        subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(root / "passwd"), user, password],
                       check=True, capture_output=True)
    broker = EmbeddedBroker(tmp_path, preferred_port=0, anonymous=False,
                            listener_config=[f"password_file {root / 'passwd'}", f"acl_file {root / 'acl'}"])
    broker.start()
    try:
        yield broker, passwords
    finally:
        broker.stop()


def test_a_gateway_publishes_only_under_its_own_building_and_reads_nothing(acl_broker, make_settings, db_url):
    broker, pw = acl_broker
    refused = Client(broker.port)  # anonymous
    assert refused.connack == NOT_AUTHORIZED or refused.connack == 134  # 134: bad user name or password
    wrong = Client(broker.port, "gw-b1", "not-the-password")
    assert wrong.connack in (NOT_AUTHORIZED, 134)
    for c in (refused, wrong):
        c.close()

    sensor = f"d{secrets.token_hex(3)}"
    url = f"mqtt://ingest:{pw['ingest']}@127.0.0.1:{broker.port}"
    with running_ingest(make_settings(mqtt_url=url)):  # the real ingest, with its own account and the ACL
        gw = Client(broker.port, "gw-b1", pw["gw-b1"])
        assert gw.connack == 0
        body = f'{{"event_id": "{secrets.token_hex(4)}", "ts": "{now_ts()}", "event": "access_granted"}}'.encode()
        assert gw.publish(f"campus/v1/b1/door/{sensor}", body) == 0
        assert gw.publish(f"campus/v1/b2/door/{sensor}x", body) == NOT_AUTHORIZED
        assert gw.publish("campus/v1/_alarms/1", b"{}") == NOT_AUTHORIZED
        assert gw.publish("campus/v1/_service/ingest/x", b"online") == NOT_AUTHORIZED
        # Mosquitto grants a subscription and then checks read access on every message it would deliver.
        gw.subscribe("campus/v1/#")
        dash = Client(broker.port, "dashboard", pw["dashboard"])
        assert dash.subscribe("campus/v1/#") in (0, 1)
        assert dash.publish(f"campus/v1/b1/door/{sensor}", body) == NOT_AUTHORIZED
        sim = Client(broker.port, "sim", pw["sim"])
        assert sim.publish(f"campus/v1/b2/door/{sensor}y", body) == 0
        wait_until(lambda: f"campus/v1/b2/door/{sensor}y" in dash.received, 10, what="the dashboard to read")
        assert gw.received == []  # the gateway reads nothing, not even its own building
        for c in (gw, dash, sim):
            c.close()
        wait_until(lambda: scalar(db_url, "SELECT count(*) FROM events WHERE sensor_id = %s", (sensor,)), 10,
                   what="the gateway's own event stored")
    assert scalar(db_url, "SELECT count(*) FROM events WHERE sensor_id = %s", (f"{sensor}x",)) == 0
    assert scalar(db_url, "SELECT count(*) FROM dead_letters WHERE topic LIKE %s", (f"%{sensor}x",)) == 0


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it (openssl)."""
    if not shutil.which("openssl"):
        pytest.fail("openssl is required for the TLS test (Debian's openssl)", pytrace=False)
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = folder / "san.cnf"
    ext.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    for cmd in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=SafeCampus test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
         "-extfile", ext],
    ):
        subprocess.run(["openssl", *map(str, cmd)], check=True, capture_output=True)
    return ca, cert, key


def test_ingest_over_tls_with_a_self_signed_certificate(tmp_path, make_settings, db_url):
    root = tmp_path / "mqtt"
    root.mkdir()
    ca, cert, key = _certificates(root)
    broker = EmbeddedBroker(tmp_path, preferred_port=0,
                            listener_config=[f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"])
    broker.start()
    try:
        sensor = f"tls{secrets.token_hex(3)}"
        settings = make_settings(mqtt_url=f"mqtts://127.0.0.1:{broker.port}", mqtt_ca_file=ca)
        with running_ingest(settings):
            client = Client(broker.port, ca=ca)
            assert client.connack == 0
            body = f'{{"event_id": "e1", "ts": "{now_ts()}", "state": "normal"}}'.encode()
            assert client.publish(f"campus/v1/bt/smoke/{sensor}", body) == 0
            client.close()
            wait_until(lambda: scalar(db_url, "SELECT count(*) FROM events WHERE sensor_id = %s", (sensor,)), 10,
                       what="the event sent over TLS stored")
        # Without the CA the broker's certificate is not trusted; in plain text the broker does not answer.
        with pytest.raises(ssl.SSLCertVerificationError):
            Client(broker.port, ca=Path(ssl.get_default_verify_paths().cafile or "/nonexistent"))
        plain = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        with pytest.raises((OSError, ConnectionError)):  # noqa: PT012 - connect, then the first read fails
            plain.connect("127.0.0.1", broker.port)
            for _ in range(50):  # a TLS listener closes the connection on a plain-text CONNECT
                if plain.loop(0.1) != mqtt.MQTT_ERR_SUCCESS:
                    raise ConnectionError("closed")
    finally:
        broker.stop()
