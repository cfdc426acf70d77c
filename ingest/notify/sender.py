"""Deliver due notifications: fire first, within each channel's rate, digests in a flood, retries.

A round claims the due rows (``sending``, committed) before any request leaves, sends, and
records each attempt with its outcome in its own transaction. A sender that dies mid-round
leaves rows ``sending``; the next leader sends them again marked ``in_doubt`` under the same
id (``RESET_IN_DOUBT``), so nothing is lost and a receiver that keeps ids sees each once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ingest.alarms.messages import Text, english, journal_details
from ingest.notify import queries as q
from ingest.notify.channels import Envelope, Outcome, deliver
from ingest.notify.compose import Message, alarm_message, digest_message, test_message
from ingest.notify.config import Channel, NotifyConfig

logger = logging.getLogger(__name__)

ROUND_LIMIT = 2000


@dataclass(frozen=True)
class Due:
    """A claimed notification row."""

    id: int
    alarm_id: int | None
    step: str
    recipient: str
    channel: str
    language: str
    urgency: int
    created_at: datetime
    attempts: int
    in_doubt: bool
    body: Any = None


@dataclass
class Plan:
    """What one channel does this round."""

    channel: str
    singles: list[Due]
    digest: list[Due]
    wait: list[Due]


def allot(rows: list[Due], used: int, ch: Channel, digest_ok: bool = True) -> tuple[list[Due], list[Due], list[Due]]:
    """One channel's due rows (most urgent first) → (send one by one, send as one digest, wait).

    At most ``limit_per_min`` requests in any minute (``used`` were made in the last one). Fire
    and critical messages may use every slot; routine ones leave ``reserve_for_critical`` free,
    so a fire alarm never waits behind routine ones. When more are due than there are slots,
    they go as one digest instead of being dropped or throttled: urgent ones in the last slot,
    routine ones all together, at most one routine digest every ``digest_every_s``
    (``digest_ok``); in between they gather.
    """
    budget = max(0, ch.limit_per_min - used)
    urgent = [r for r in rows if r.urgency <= 1]
    routine = [r for r in rows if r.urgency > 1]
    singles: list[Due] = []
    digest: list[Due] = []
    wait: list[Due] = []
    if len(urgent) <= budget:
        singles += urgent
    elif budget == 0:
        wait += urgent
    else:
        singles += urgent[: budget - 1]
        digest += urgent[budget - 1:]
    left = budget - len(singles) - (1 if digest else 0)
    slots = max(0, min(left, budget - ch.reserve_for_critical))
    if len(routine) <= slots:
        singles += routine
    elif slots == 0 or digest or not digest_ok:
        wait += routine
    else:
        digest += routine
    return singles, digest, wait


def backoff(cfg: NotifyConfig, attempts: int) -> float:
    """Seconds before the next try: doubling from ``retry.first_s`` up to ``retry.max_s``."""
    return min(cfg.retry.first_s * 2 ** max(attempts - 1, 0), cfg.retry.max_s)


class Sender:
    """Sends what is due; one instance per notifier leader."""

    def __init__(self, config: NotifyConfig | None, metrics: Any = None, client: httpx.Client | None = None,
                 escalation_s: dict[str, float] | None = None) -> None:
        self.config = config
        self.limits = dict(escalation_s or {})  # for "not acknowledged within {limit}" in step 2
        self.metrics = metrics
        self.client = client or httpx.Client(follow_redirects=False)
        self.paused_until: dict[str, float] = {}  # robots that said "too many": not before this (monotonic)
        self.last_digest: dict[str, float] = {}  # per channel (monotonic)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    # -- claim (one transaction) ---------------------------------------------------------
    def claim(self, conn: psycopg.Connection) -> list[tuple[Channel | None, Due]]:
        """Claim what goes out this round: (channel, row) in sending order; a digest's rows point at it."""
        out: list[tuple[Channel | None, Due]] = []
        with conn.transaction():
            with conn.cursor() as cur:
                rows = [Due(*r) for r in cur.execute(q.DUE, {"limit": ROUND_LIMIT})]
            if not rows:
                return []
            used: dict[str, int] = dict(conn.execute(q.RECENT_SENDS).fetchall())
            by_channel: dict[str, list[Due]] = {}
            for r in rows:
                by_channel.setdefault(r.channel, []).append(r)
            claimed: list[int] = []
            for name, group in by_channel.items():
                ch = self.config.channels.get(name) if self.config else None
                if ch is None:
                    for r in group:  # no such channel (any more): say so once, where people look
                        claimed.append(r.id)
                        out.append((None, r))
                    continue
                if self.paused_until.get(name, 0.0) > time.monotonic():
                    continue
                digest_ok = time.monotonic() - self.last_digest.get(name, -1e9) >= ch.digest_every_s
                singles, digest, _wait = allot(group, int(used.get(name, 0)), ch, digest_ok)
                claimed += [r.id for r in singles]
                out += [(ch, r) for r in singles]
                if digest:
                    self.last_digest[name] = time.monotonic()
                    first = digest[0]
                    row = conn.execute(q.ADD_DIGEST, {"recipient": first.recipient, "channel": name,
                                                      "language": first.language, "urgency": first.urgency}
                                       ).fetchone()
                    assert row is not None
                    conn.execute(q.DIGESTED, {"digest": row[0], "ids": [d.id for d in digest]})
                    out.append((ch, Due(row[0], None, "digest", first.recipient, name, first.language,
                                        first.urgency, datetime.now(UTC), 1, False)))
            conn.execute(q.CLAIM, {"ids": claimed})
        out.sort(key=lambda item: (item[1].urgency, item[1].id))
        return out

    # -- send ------------------------------------------------------------------------------
    def _message(self, row: Due, alarms: dict[int, dict], members: dict[int, list[int]]) -> Message:
        assert self.config is not None
        url = self.config.console_url
        if row.step == "digest":  # its alarms, read again each try (a retried or in-doubt digest too)
            return digest_message([alarms[a] for a in dict.fromkeys(members.get(row.id, [])) if a in alarms],
                                  row.language, url)
        if row.alarm_id is None:
            return test_message(row.channel, row.language, url)
        alarm = alarms[row.alarm_id]
        params = {"limit": self.limits[alarm["priority"]]} if row.step == "step-2" and self.limits else {}
        return alarm_message(alarm, row.step, row.language, url, datetime.now(UTC), params)

    def round(self, conn: psycopg.Connection) -> int:
        """Claim and send what is due; returns how many requests were made."""
        work = self.claim(conn)
        if not work:
            return 0
        members: dict[int, list[int]] = {}
        digests = [r.id for _c, r in work if r.step == "digest"]
        for digest_id, alarm_id in conn.execute(q.DIGEST_MEMBERS, {"ids": digests}) if digests else ():
            members.setdefault(digest_id, []).append(alarm_id)
        ids = {r.alarm_id for _c, r in work if r.alarm_id is not None} | {a for m in members.values() for a in m}
        with conn.cursor(row_factory=dict_row) as cur:
            alarms = {a["id"]: a for a in cur.execute(q.ALARMS, {"ids": sorted(ids)})} if ids else {}
        failed: dict[str, float] = {}  # channels that failed this round: the rest of theirs wait
        made = 0
        for ch, row in work:
            if ch is None:
                self._give_up(conn, row, f"no channel named {row.channel} in the notification file")
                continue
            if row.channel in failed or self.paused_until.get(row.channel, 0.0) > time.monotonic():
                with conn.transaction():
                    conn.execute(q.RELEASE, {"ids": [row.id], "wait": failed.get(row.channel, 5.0)})
                continue
            if row.alarm_id is not None and row.alarm_id not in alarms:
                self._give_up(conn, row, "alarm not found")
                continue
            env = Envelope(self._message(row, alarms, members), row.id,
                           "digest" if row.step == "digest" else "test" if row.alarm_id is None else "alarm",
                           row.step, row.recipient, row.language, row.in_doubt)
            if row.in_doubt:
                env = replace(env, message=replace(env.message, title=env.message.title + " (↻)"))
            started = time.monotonic()
            outcome = deliver(ch, env, self.client)
            made += 1
            self._record(conn, row, outcome, int((time.monotonic() - started) * 1000))
            if not outcome.ok:
                failed[row.channel] = max(backoff(self.config, row.attempts), outcome.throttled_s)  # type: ignore[arg-type]
                if outcome.throttled_s:
                    self.paused_until[row.channel] = time.monotonic() + outcome.throttled_s
        return made

    def _record(self, conn: psycopg.Connection, row: Due, outcome: Outcome, duration_ms: int) -> None:
        assert self.config is not None
        with conn.transaction():
            conn.execute(q.ATTEMPT, {"id": row.id, "channel": row.channel, "ok": outcome.ok, "status": outcome.status,
                                     "response": outcome.response, "duration_ms": duration_ms})
            if outcome.ok:
                for done in conn.execute(q.SENT, {"id": row.id}).fetchall():
                    self._journal(conn, "notified", done)
            else:
                age = (datetime.now(UTC) - row.created_at).total_seconds()
                error = f"{outcome.status}: {outcome.response}"[:500]
                if age >= self.config.retry.give_up_after_s:
                    for done in conn.execute(q.GIVE_UP, {"id": row.id, "error": error}).fetchall():
                        self._journal(conn, "notification failed", done)
                else:
                    wait = max(backoff(self.config, row.attempts), outcome.throttled_s)
                    conn.execute(q.RETRY, {"id": row.id, "error": error, "wait": wait})
                    logger.warning("notification %s to %s via %s failed (%s), again in %.0f s", row.id,
                                   row.recipient, row.channel, error, wait)
        if self.metrics is not None:
            self.metrics.notify_attempt(row.channel, outcome.ok)

    def _give_up(self, conn: psycopg.Connection, row: Due, error: str) -> None:
        logger.error("notification %s to %s: %s", row.id, row.recipient, error)
        with conn.transaction():
            conn.execute(q.ATTEMPT, {"id": row.id, "channel": row.channel, "ok": False, "status": "configuration",
                                     "response": error, "duration_ms": 0})
            for done in conn.execute(q.GIVE_UP, {"id": row.id, "error": error}).fetchall():
                self._journal(conn, "notification failed", done)

    @staticmethod
    def _journal(conn: psycopg.Connection, action: str, done: tuple) -> None:
        _id, alarm_id, step, recipient, channel = done
        if alarm_id is None:
            return
        key = "notified" if action == "notified" else "notify_failed"
        text = Text(key, {"recipient": recipient, "channel": channel, "step": step})
        conn.execute(q.JOURNAL_NOTIFIED, {"alarm_id": alarm_id, "action": action, "note": english(text),
                                          "details": Jsonb(journal_details(text) | {"notification_id": _id})})
