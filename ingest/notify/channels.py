"""Channel adapters: each turns a Message into one request on a maintained client (httpx, smtplib).

Every adapter returns an ``Outcome``; none raises for what the far side answers. Payload shapes
and limits: docs/notifications.md (WeCom and DingTalk robots take about 20 messages a minute;
WeCom markdown up to 4,096 bytes, text up to 2,048; Feishu bodies up to 20 KB).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote_plus, urlsplit, urlunsplit

import httpx

from ingest.notify.compose import Message
from ingest.notify.config import (
    Channel,
    DingTalkChannel,
    EmailChannel,
    FeishuChannel,
    WebhookChannel,
    WeComChannel,
)

WECOM_MARKDOWN_BYTES, WECOM_TEXT_BYTES = 4096, 2048
DINGTALK_BYTES = 18_000
FEISHU_BYTES = 18_000  # of a 20 KB body
RESPONSE_CHARS = 500
THROTTLED_S = {"dingtalk": 600.0, "wecom": 60.0, "feishu": 60.0}  # a robot that says "too many": wait this long
THROTTLE_CODES = {"dingtalk": {130101}, "wecom": {45009}, "feishu": {9499, 11232}}


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to."""

    ok: bool
    status: str  # HTTP status and the robot's own code, or the SMTP reply, or the error's name
    response: str = ""
    throttled_s: float = 0.0  # the far side asked us to wait this long


@dataclass(frozen=True)
class Envelope:
    """A message and who it is: the idempotency key and whether an earlier try may have arrived."""

    message: Message
    notification_id: int
    kind: str  # alarm, digest, test
    step: str
    recipient: str
    language: str
    in_doubt: bool = False


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes, on a character boundary, marked when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 4].decode("utf-8", "ignore") + " …"


def _secret(name: str | None) -> str | None:
    return os.environ.get(name) if name else None


def _url(ch: Any) -> str:
    url = ch.url or _secret(ch.url_env)
    if not url:
        raise LookupError(f"environment variable {ch.url_env} is not set")
    return str(url)


def _with_query(url: str, extra: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: urlencode(base64(HMAC-SHA256(secret, timestamp, newline, secret)))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: base64(HMAC-SHA256 keyed with timestamp, newline, secret, over nothing)."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_signature(secret: str, timestamp_s: int, body: bytes) -> str:
    """Our webhook's signature header: sha256=hex(HMAC-SHA256(secret, f"{timestamp}." + body))."""
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256).hexdigest()


def _robot_answer(kind: str, resp: httpx.Response) -> Outcome:
    """WeCom, DingTalk and Feishu answer 200 with their own code; 0 is success."""
    text = resp.text[:RESPONSE_CHARS]
    if resp.status_code != 200:
        return Outcome(False, str(resp.status_code), text, 60.0 if resp.status_code == 429 else 0.0)
    try:
        body = resp.json()
        code = int(body.get("errcode", body.get("code", body.get("StatusCode", 0))))
    except (ValueError, AttributeError, TypeError):
        return Outcome(False, "200 unreadable", text)
    if code == 0:
        return Outcome(True, "200", text)
    throttled = THROTTLED_S.get(kind, 60.0) if code in THROTTLE_CODES.get(kind, set()) else 0.0
    return Outcome(False, f"200 code {code}", text, throttled)


def _post(client: httpx.Client, kind: str, url: str, payload: dict, timeout: float) -> Outcome:
    resp = client.post(url, json=payload, timeout=timeout)
    return _robot_answer(kind, resp)


def send_wecom(ch: WeComChannel, env: Envelope, client: httpx.Client) -> Outcome:
    """WeCom group robot: markdown, or text when people are to be @-mentioned (WeCom's rule)."""
    msg = env.message
    if ch.mention_mobiles:
        payload: dict[str, Any] = {"msgtype": "text", "text": {"content": fit(msg.text(), WECOM_TEXT_BYTES),
                                                               "mentioned_mobile_list": list(ch.mention_mobiles)}}
    else:
        payload = {"msgtype": "markdown", "markdown": {"content": fit(msg.markdown(), WECOM_MARKDOWN_BYTES)}}
    return _post(client, "wecom", _url(ch), payload, ch.timeout_s)


def send_dingtalk(ch: DingTalkChannel, env: Envelope, client: httpx.Client) -> Outcome:
    """DingTalk custom robot: markdown, ``at`` mobiles, signed when a secret is set."""
    msg = env.message
    text = msg.markdown()
    if ch.mention_mobiles:  # DingTalk shows an @ only when the text names the mobile too
        text += "\n\n" + " ".join(f"@{m}" for m in ch.mention_mobiles)
    payload = {"msgtype": "markdown", "markdown": {"title": fit(msg.title, 200), "text": fit(text, DINGTALK_BYTES)},
               "at": {"atMobiles": list(ch.mention_mobiles), "isAtAll": False}}
    url = _url(ch)
    secret = _secret(ch.secret_env)
    if ch.secret_env and not secret:
        raise LookupError(f"environment variable {ch.secret_env} is not set")
    if secret:
        ts = int(time.time() * 1000)
        url = _with_query(url, f"timestamp={ts}&sign={dingtalk_sign(secret, ts)}")
    return _post(client, "dingtalk", url, payload, ch.timeout_s)


def send_feishu(ch: FeishuChannel, env: Envelope, client: httpx.Client) -> Outcome:
    """Feishu / Lark custom bot: text, signed when a secret is set."""
    payload: dict[str, Any] = {"msg_type": "text", "content": {"text": fit(env.message.text(), FEISHU_BYTES)}}
    secret = _secret(ch.secret_env)
    if ch.secret_env and not secret:
        raise LookupError(f"environment variable {ch.secret_env} is not set")
    if secret:
        ts = int(time.time())
        payload |= {"timestamp": str(ts), "sign": feishu_sign(secret, ts)}
    return _post(client, "feishu", _url(ch), payload, ch.timeout_s)


def webhook_body(env: Envelope) -> dict[str, Any]:
    """The generic webhook's JSON (schema: docs/notifications.md#webhook, version 1)."""
    msg = env.message
    return {"version": 1, "id": str(env.notification_id), "kind": env.kind, "step": env.step,
            "recipient": env.recipient, "language": env.language, "in_doubt": env.in_doubt,
            "title": msg.title, "text": msg.text(), "url": msg.url, "facts": msg.facts}


def send_webhook(ch: WebhookChannel, env: Envelope, client: httpx.Client) -> Outcome:
    """Generic JSON webhook: 2xx is success; the id header lets the receiver drop a repeat."""
    body = json.dumps(webhook_body(env), ensure_ascii=False, separators=(",", ":")).encode()
    ts = int(time.time())
    headers = {"Content-Type": "application/json; charset=utf-8", "X-SafeCampus-Id": str(env.notification_id),
               "X-SafeCampus-Timestamp": str(ts), **ch.headers}
    secret = _secret(ch.secret_env)
    if ch.secret_env and not secret:
        raise LookupError(f"environment variable {ch.secret_env} is not set")
    if secret:
        headers["X-SafeCampus-Signature"] = webhook_signature(secret, ts, body)
    resp = client.post(_url(ch), content=body, headers=headers, timeout=ch.timeout_s)
    return Outcome(200 <= resp.status_code < 300, str(resp.status_code), resp.text[:RESPONSE_CHARS],
                   60.0 if resp.status_code == 429 else 0.0)


def send_email(ch: EmailChannel, env: Envelope, _client: httpx.Client) -> Outcome:
    """E-mail over SMTP (STARTTLS, SSL or none), with login when a user is set."""
    mail = EmailMessage()
    mail["Subject"] = env.message.title
    mail["From"] = ch.sender
    mail["To"] = ", ".join(ch.to)
    mail["X-SafeCampus-Id"] = str(env.notification_id)
    mail.set_content(env.message.text())
    password = _secret(ch.password_env)
    if ch.password_env and not password:
        raise LookupError(f"environment variable {ch.password_env} is not set")
    context = ssl.create_default_context()
    smtp: smtplib.SMTP = (smtplib.SMTP_SSL(ch.host, ch.port, timeout=ch.timeout_s, context=context)
                          if ch.security == "ssl" else smtplib.SMTP(ch.host, ch.port, timeout=ch.timeout_s))
    with smtp:
        if ch.security == "starttls":
            smtp.starttls(context=context)
        if ch.username:
            smtp.login(ch.username, password or "")
        refused = smtp.send_message(mail)
    if refused:
        return Outcome(False, "refused", json.dumps(refused)[:RESPONSE_CHARS])
    return Outcome(True, "250")


SENDERS: dict[str, Callable[[Any, Envelope, httpx.Client], Outcome]] = {
    "wecom": send_wecom, "dingtalk": send_dingtalk, "feishu": send_feishu, "webhook": send_webhook,
    "email": send_email,
}


def deliver(ch: Channel, env: Envelope, client: httpx.Client) -> Outcome:
    """One attempt on one channel; every failure, ours or theirs, comes back as an Outcome."""
    try:
        return SENDERS[ch.type](ch, env, client)
    except LookupError as exc:  # a secret's variable is missing: say which
        return Outcome(False, "configuration", str(exc))
    except (httpx.HTTPError, smtplib.SMTPException, OSError) as exc:
        return Outcome(False, type(exc).__name__, str(exc)[:RESPONSE_CHARS])
