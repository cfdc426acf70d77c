"""A named daemon thread with a stop event: the shape of every background loop here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


class BackgroundLoop:
    """Subclasses implement ``_run`` and leave it when ``self._stop`` is set."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Run in the background."""
        self._thread.start()

    def died(self) -> bool:
        """True when the loop ended without being asked to (an uncaught error)."""
        return self._thread.ident is not None and not self._thread.is_alive() and not self._stop.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end and wait for it."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError


class TickLoop(BackgroundLoop):
    """Calls ``tick(conn)`` every ``every_s`` seconds on a pooled connection until stopped; a failed
    round is logged and tried again at the next one (the alarm, patrol and safety ticks).
    """

    def __init__(self, name: str, tick: Callable[[Any], Any], pool: Any, every_s: float = 1.0) -> None:
        super().__init__(name)
        self._tick = tick
        self._pool = pool
        self._every = every_s

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                with self._pool.connection() as conn:
                    self._tick(conn)
            except Exception:  # noqa: BLE001 - a failed round is retried at the next
                logger.exception("%s failed", self.name)
