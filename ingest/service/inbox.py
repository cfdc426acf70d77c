"""Messages from paho's network thread to the writer thread, without a lock per message.

``queue.Queue`` took a lock and a condition for every put and every get (about 2.3 µs a message,
a tenth of ingest's own CPU in a drain). Here the network thread appends the messages of a socket
read to a deque at once (atomic) and wakes the writer only when it sleeps; the writer takes a whole
batch at once. The broker never sends more than the receive maximum unacknowledged, so the inbox
stays within ``maxsize``; should a broker ignore it, ``put`` waits for room (backpressure) as the
queue did.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

_FULL_WAIT_S = 0.001
_FILL_POLL_S = 0.002


class Inbox(Generic[T]):
    """A bounded single-producer, single-consumer inbox."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._ready = threading.Event()  # set when items may be waiting

    def __len__(self) -> int:
        return len(self._items)

    def put(self, items: list[T], give_up: threading.Event | None = None) -> None:
        """Add items in order (the messages of one socket read); wait while they do not fit (until
        ``give_up`` is set). More than ``maxsize`` at once go in when the inbox is empty.
        """
        n = len(items)
        while (held := len(self._items)) and held + n > self.maxsize and not (give_up is not None and give_up.is_set()):
            time.sleep(_FULL_WAIT_S)
        self._items.extend(items)
        if not self._ready.is_set():
            self._ready.set()

    def take(self, size: int, max_age_s: float, first_wait_s: float) -> list[T]:
        """Up to ``size`` items: waits up to ``first_wait_s`` for the first, then up to ``max_age_s``
        for more while fewer than ``size`` are there (empty list: nothing came).
        """
        if not self._wait(first_wait_s):
            return []
        deadline = time.monotonic() + max_age_s
        while len(self._items) < size:  # filling: look again every few ms rather than wake per message
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, _FILL_POLL_S))
        pop = self._items.popleft  # one at a time: the network thread may be appending meanwhile
        return [pop() for _ in range(min(size, len(self._items)))]

    def _wait(self, timeout: float) -> bool:
        """Wait until an item is there; False on timeout."""
        if self._items:
            return True
        self._ready.clear()
        if self._items:  # appended between the check and the clear
            return True
        return self._ready.wait(timeout) and bool(self._items)
