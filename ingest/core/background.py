"""A named daemon thread with a stop event: the shape of every background loop here."""

from __future__ import annotations

import threading


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
