"""Integration fixtures: a private Mosquitto that tests may restart."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from ingest.app.embedded import EmbeddedBroker


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """A Mosquitto of our own, configured like production (persistence, big queues)."""
    if not shutil.which("mosquitto"):
        pytest.fail("mosquitto is required for delivery tests: install Debian's mosquitto "
                    "(make test does this when it may)", pytrace=False)
    broker = EmbeddedBroker(tmp_path_factory.mktemp("broker"), preferred_port=0)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def broker_url(broker: EmbeddedBroker) -> str:
    """The URL of a running private broker."""
    return f"mqtt://127.0.0.1:{broker.port}"
