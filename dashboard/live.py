"""Push alarm changes to every open page: one LISTEN per dashboard process, fanned out by SSE.

Each dashboard worker process holds one PostgreSQL connection that LISTENs on
``safecampus_alarms``; every browser page keeps one server-sent-events stream open
(``/events/alarms``) and refreshes itself when a change arrives. No page polls the
database for alarms, and several worker processes each serve their own pages.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from flask import Flask, Response
from psycopg import sql

from dashboard.auth import current_user

logger = logging.getLogger(__name__)

KEEPALIVE_S = 15.0
CHANNELS = ("safecampus_alarms", "safecampus_escalations")
FEED_APP_NAME = "safecampus-dashboard-feed"  # how the LISTEN connection shows in pg_stat_activity


class AlarmFeed:
    """Listens once, hands each notification to every subscribed page."""

    def __init__(self, db_url: str) -> None:
        self._db_url = db_url
        self._subs: set[queue.Queue[str]] = set()
        self._lock = threading.Lock()
        self._started = False
        self._stop = threading.Event()
        self._listening = threading.Event()  # LISTEN is active: no change goes unheard
        self.version = 0  # bumped on every change this process hears of

    def start(self) -> None:
        """Start listening (the server does this at start; a first subscriber otherwise)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="alarm-feed", daemon=True).start()

    def subscribe(self, wait_s: float = 2.0) -> queue.Queue[str]:
        """A new page's queue. Waits (a little) until the feed is listening, so that a page
        that refreshes once its stream is open cannot miss a change made in between.
        """
        q: queue.Queue[str] = queue.Queue(maxsize=1000)
        with self._lock:
            self._subs.add(q)
        self.start()
        self._listening.wait(wait_s)
        return q

    def unsubscribe(self, q: queue.Queue[str]) -> None:
        """A page went away."""
        with self._lock:
            self._subs.discard(q)

    @property
    def listeners(self) -> int:
        """Pages connected now."""
        return len(self._subs)

    def stop(self) -> None:
        """Stop listening."""
        self._stop.set()

    def _run(self) -> None:
        heard_before = False  # pages opened before the first LISTEN refresh when their stream opens
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._db_url, autocommit=True, application_name=FEED_APP_NAME) as conn:
                    for ch in CHANNELS:
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(ch)))
                    self._listening.set()
                    logger.info("dashboard listening for alarm changes")
                    if heard_before:
                        # Changes made while we were not listening were never heard: whatever
                        # was read meanwhile may be stale, so open pages re-read everything now.
                        self._fan_out("resync", '{"action": "resync"}')
                    heard_before = True
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._fan_out(note.channel, note.payload)
            except psycopg.Error as exc:
                self._listening.clear()
                logger.warning("alarm feed lost its database connection (%s); retrying", exc)
                self._stop.wait(2)

    def _fan_out(self, channel: str, payload: str) -> None:
        self.version += 1
        data = json.dumps({"channel": channel, **json.loads(payload)})
        with self._lock:
            subs = list(self._subs)
        for q in subs:
            try:
                q.put_nowait(data)
            except queue.Full:
                pass  # a stuck page misses a nudge; its next one refreshes everything anyway


def install(server: Flask, feed: AlarmFeed) -> None:
    """Add ``/events/alarms`` (server-sent events) to ``server``."""

    @server.route("/events/alarms")
    def alarm_events() -> Any:
        if current_user() is None:
            return Response("log in or use a kiosk link\n", status=401, mimetype="text/plain")
        q = feed.subscribe()

        def stream() -> Iterator[str]:
            try:
                yield "retry: 3000\n\n"
                last = time.monotonic()
                while True:
                    try:
                        data = q.get(timeout=1.0)
                        yield f"data: {data}\n\n"
                        last = time.monotonic()
                    except queue.Empty:
                        if time.monotonic() - last > KEEPALIVE_S:
                            yield ": keep-alive\n\n"
                            last = time.monotonic()
            finally:
                feed.unsubscribe(q)

        return Response(stream(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class SharedRead:
    """A one-second read-through cache for data every viewer sees alike (the wall).

    Fifty wall screens refresh on every alarm change; they all ask the same question, so
    one worker answers it once per change (or per second) and serves the same answer to
    all. The database stays the source of truth: nothing is kept longer than ``ttl_s`` and
    nothing per user is kept at all.
    """

    def __init__(self, ttl_s: float = 1.0) -> None:
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int, float, object]] = {}  # per language: version, when, value

    def get(self, version: int, compute: Callable[[], Any], key: str = "") -> Any:
        """The cached value of ``key`` (the language) for this change ``version``, or a fresh one."""
        with self._lock:
            got = self._entries.get(key)
            if got and got[0] == version and time.monotonic() - got[1] < self._ttl:
                return got[2]
            value = compute()
            self._entries[key] = (version, time.monotonic(), value)
            return value
