"""What a notification says, in its recipient's language: where, what, since when, the first step, a link.

Pure: an alarm row (``alarm_places``) and a step in, a ``Message`` out. Channels format it
(markdown for robots, plain text for mail and SMS gateways).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.alarms.messages import condition_label, render
from ingest.core import clock
from ingest.core.i18n import N_, named, quantity, translator
from ingest.core.vocabulary import PRIORITY_LABELS, UNPLACED_BUILDING

# What each step is called at the head of a message.
STEP_HEADS: dict[str, str] = {
    "step-1": N_("New alarm"),
    "step-2": N_("Escalated: not acknowledged within {limit}"),
    "step-n": N_("Escalated again: still not acknowledged after {elapsed}"),
    "remind": N_("Reminder: still not acknowledged after {elapsed}"),
    "re-alarm": N_("Priority raised"),
    "confirmed": N_("Fire confirmed by a second detector"),
    "acknowledged": N_("Acknowledged by {who}"),
    "returned": N_("Returned to normal"),
    "closed": N_("Closed by {who}"),
}
DIGEST_HEAD = N_("{n} new alarms in {where}, {critical} critical")
DIGEST_MORE = N_("+{n} more")
TEST_TEXT = N_("Test message from SafeCampus: channel {channel} works.")
MAX_DIGEST_LINES = 10


@dataclass(frozen=True)
class Message:
    """One message, ready for a channel."""

    title: str
    lines: tuple[str, ...]  # the body, one fact a line
    url: str = ""
    link_text: str = ""
    facts: dict[str, Any] = field(default_factory=dict)  # machine-readable, for the webhook

    def text(self) -> str:
        """Plain text (mail, WeCom text, Feishu, SMS gateways)."""
        tail = [f"{self.link_text}: {self.url}"] if self.url else []
        return "\n".join([self.title, *self.lines, *tail])

    def markdown(self) -> str:
        """Markdown (WeCom and DingTalk robots)."""
        tail = [f"[{self.link_text}]({self.url})"] if self.url else []
        return "\n".join([f"### {self.title}", *[f"- {line}" for line in self.lines], *tail])


def _elapsed(seconds: float, lang: str) -> str:
    _ = translator(lang)
    minutes = int(seconds // 60)
    return _("{m} min").format(m=minutes) if minutes >= 1 else quantity(seconds, "s", lang)


def building_name(alarm: dict, lang: str) -> str:
    """The alarm's building as a reader says it; a device nobody has placed yet is 'not placed'."""
    if alarm.get("building_id") == UNPLACED_BUILDING:
        return translator(lang)(N_("not placed"))
    return named(alarm, "building", lang) or str(alarm.get("building_id") or "")


def where(alarm: dict, lang: str) -> str:
    """Building / floor / room / sensor, in the reader's language."""
    _ = translator(lang)
    floor = alarm.get("floor")
    parts = [building_name(alarm, lang),
             _("floor {n}").format(n=floor) if floor is not None else "",
             named(alarm, "room", lang), named(alarm, "sensor_name", lang) or str(alarm.get("sensor_id") or "")]
    return " / ".join(p for p in parts if p)


def first_step(alarm: dict, lang: str) -> str:
    """The procedure's first step in the reader's language ('' when there is none)."""
    steps = alarm.get("procedure") or []
    if not steps:
        return ""
    texts = steps[0].get("texts") or {}
    return str(texts.get(lang) or texts.get("en") or steps[0].get("step") or "")


def console_link(console_url: str, alarm_id: int) -> str:
    """The alarm in the console."""
    return f"{console_url.rstrip('/')}/console?alarm={alarm_id}"


def step_kind(step: str) -> str:
    """'step-4' → 'step-n', 'remind-3' → 'remind', 're-alarm-7' → 're-alarm'; the others are themselves."""
    if step in STEP_HEADS:
        return step
    if step.startswith("step-"):
        return "step-n"
    return step.rsplit("-", 1)[0]


def alarm_message(alarm: dict, step: str, lang: str, console_url: str, now: datetime,
                  params: dict[str, Any] | None = None) -> Message:
    """A message about one alarm at one step of its chain (or an update to those told)."""
    _ = translator(lang)
    p = dict(params or {})
    kind = step_kind(step)
    if "limit" in p:
        p["limit"] = quantity(float(p["limit"]), "s", lang)
    elapsed = _elapsed((now - alarm["raised_at"]).total_seconds(), lang)
    place = where(alarm, lang)
    p.setdefault("elapsed", elapsed)
    p.setdefault("who", alarm.get("acked_by") or alarm.get("closed_by") or "")
    head = _(STEP_HEADS.get(kind, STEP_HEADS["step-1"])).format_map({k: str(v) for k, v in p.items()})
    what = render(alarm.get("message_key"), alarm.get("message_params"), lang, alarm.get("message") or "")
    label = condition_label(str(alarm["condition"]), lang)
    prio = _(PRIORITY_LABELS.get(str(alarm["priority"]), str(alarm["priority"])))
    drill = _("DRILL") + " " if alarm.get("drill") else ""
    title = f"{drill}[{prio}] {label} · {place} · {head}"
    lines = [
        _("Where: {where}").format(where=place),
        _("What: {what}").format(what=what or label),
        _("Since: {time} ({elapsed} ago)").format(time=clock.fmt(alarm["raised_at"], "%Y-%m-%d %H:%M:%S"),
                                                    elapsed=elapsed),
    ]
    todo = first_step(alarm, lang)
    if todo and kind in ("step-1", "step-2", "step-n", "remind", "re-alarm", "confirmed"):
        lines.append(_("First step: {step}").format(step=todo))
    facts = {"alarm_id": alarm["id"], "priority": alarm["priority"], "signal_class": alarm.get("signal_class"),
             "condition": alarm["condition"], "state": alarm.get("state"), "building_id": alarm.get("building_id"),
             "sensor_id": alarm.get("sensor_id"), "department_id": alarm.get("department_id"),
             "drill": bool(alarm.get("drill")), "raised_at": alarm["raised_at"].isoformat(),
             "where": place, "what": what or label}
    return Message(title, tuple(lines), console_link(console_url, alarm["id"]), _("Open in the console"), facts)


def digest_message(alarms: list[dict], lang: str, console_url: str) -> Message:
    """One message for many alarms: counts by place, fire and critical first, '+N more'."""
    _ = translator(lang)
    buildings = Counter(building_name(a, lang) or "?" for a in alarms)
    place = ", ".join(name for name, _n in buildings.most_common(3))
    if len(buildings) > 3:
        place += " …"
    critical = sum(1 for a in alarms if a.get("priority") == "critical")
    title = _(DIGEST_HEAD).format(n=len(alarms), where=place, critical=critical)
    order = sorted(alarms, key=lambda a: (a.get("condition") != "fire", str(a.get("priority")) != "critical",
                                          a["raised_at"]))
    lines = [f"{clock.fmt(a['raised_at'], '%H:%M:%S')} {_(PRIORITY_LABELS.get(str(a['priority']), ''))} "
             f"{condition_label(str(a['condition']), lang)} · {where(a, lang)}" for a in order[:MAX_DIGEST_LINES]]
    if len(order) > MAX_DIGEST_LINES:
        lines.append(_(DIGEST_MORE).format(n=len(order) - MAX_DIGEST_LINES))
    facts = {"alarm_ids": [a["id"] for a in order], "count": len(alarms), "critical": critical}
    return Message(title, tuple(lines), f"{console_url.rstrip('/')}/console", _("Open in the console"), facts)


def test_message(channel: str, lang: str, console_url: str) -> Message:
    """What 'send a test message' sends."""
    _ = translator(lang)
    return Message(_(TEST_TEXT).format(channel=channel), (), console_url.rstrip("/") + "/admin/notifications",
                   _("Notification settings"), {"test": True})
