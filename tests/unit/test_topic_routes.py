"""The writer's memory of topics: what each is routed to, and that a flood of topics cannot grow it."""

from ingest.core.settings import Settings
from ingest.service import maintainer
from ingest.service.maintainer import IngestService


def _service() -> IngestService:
    settings = Settings(mqtt_url="mqtt://127.0.0.1:1", mqtt_protocol="5")  # never connected: _route needs neither
    return IngestService(settings, pool=None)  # type: ignore[arg-type]


def test_each_topic_is_routed_as_the_tree_says_whatever_its_bytes():
    svc = _service()
    assert svc._route(b"campus/v1/b1/lab/s1") == ("campus/v1/b1/lab/s1", maintainer._NATIVE)  # noqa: SLF001
    assert svc._route(b"campus/v1/_alarms/7")[1] is maintainer._RESERVED  # noqa: SLF001
    assert svc._route(b"zigbee2mqtt/porch")[1] is maintainer._FOREIGN  # noqa: SLF001
    assert svc._route(b"campus/v1/b\xff/lab/s1") == ("campus/v1/b\ufffd/lab/s1", maintainer._NATIVE)  # noqa: SLF001


def test_a_flood_of_topics_neither_grows_the_memory_past_its_bound_nor_keeps_long_topics():
    svc = _service()
    for n in range(maintainer.TOPICS_KEPT + 1000):
        svc._route(f"campus/v1/b/lab/s{n}".encode())  # noqa: SLF001
    assert len(svc._topics) <= maintainer.TOPICS_KEPT  # noqa: SLF001
    svc._topics.clear()  # noqa: SLF001
    for n in range(100):
        svc._route(b"campus/v1/b/lab/" + b"x" * 60_000 + str(n).encode())  # noqa: SLF001
    assert svc._topics == {}  # noqa: SLF001
