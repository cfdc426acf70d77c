"""Local stand-ins for the far side of notifications: an HTTP receiver that checks what WeCom,
DingTalk, Feishu and webhook receivers would check, and a real SMTP server (aiosmtpd).

The signature checks are written here from the services' documentation, not imported from the
product, so a wrong signature in the product fails them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from email import message_from_bytes
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class HookReceiver:
    """Records every POST; ``problems`` lists what a real receiver would have refused."""

    def __init__(self, *, dingtalk_secret: str = "", feishu_secret: str = "", webhook_secret: str = "") -> None:
        self.secrets = {"dingtalk": dingtalk_secret, "feishu": feishu_secret, "hook": webhook_secret}
        self.requests: list[dict] = []
        self.problems: list[str] = []
        self.fail_first: dict[str, int] = {}  # path → how many requests answer 500 first
        self.delay_s: dict[str, float] = {}  # path → seconds before answering
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer._take(self, raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> HookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def on(self, prefix: str) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["path"].startswith(prefix)]

    def _take(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        parts = urlsplit(handler.path)
        kind = parts.path.strip("/").split("/")[0]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        problems = self._check(kind, query, dict(handler.headers), raw, body)
        record = {"path": parts.path, "query": query, "headers": dict(handler.headers), "body": body,
                  "at": time.time(), "problems": problems}
        with self._lock:
            self.requests.append(record)
            self.problems += [f"{parts.path}: {p}" for p in problems]
            failing = self.fail_first.get(parts.path, 0)
            if failing:
                self.fail_first[parts.path] = failing - 1
        time.sleep(self.delay_s.get(parts.path, 0.0))
        status = 500 if failing else 200
        answer = {"wecom": {"errcode": 0, "errmsg": "ok"}, "dingtalk": {"errcode": 0, "errmsg": "ok"},
                  "feishu": {"code": 0, "msg": "success"}}.get(kind, {"ok": True})
        data = json.dumps(answer if status == 200 else {"error": "boom"}).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender was killed while we waited (the kill -9 test): it asked, it will not hear

    def _check(self, kind: str, query: dict, headers: dict, raw: bytes, body: object) -> list[str]:
        if not isinstance(body, dict):
            return ["body is not a JSON object"]
        out: list[str] = []
        if kind == "wecom":
            if body.get("msgtype") == "markdown":
                content = body.get("markdown", {}).get("content")
                if not isinstance(content, str) or len(content.encode()) > 4096:
                    out.append("markdown.content missing or over 4096 bytes")
            elif body.get("msgtype") == "text":
                text = body.get("text", {})
                if not isinstance(text.get("content"), str) or len(text["content"].encode()) > 2048:
                    out.append("text.content missing or over 2048 bytes")
                if not all(isinstance(m, str) for m in text.get("mentioned_mobile_list", [None])):
                    out.append("mentioned_mobile_list is not a list of strings")
            else:
                out.append(f"msgtype {body.get('msgtype')!r}")
        elif kind == "dingtalk":
            md = body.get("markdown", {})
            if body.get("msgtype") != "markdown" or not md.get("title") or not md.get("text"):
                out.append("not a markdown message with title and text")
            if not isinstance(body.get("at", {}).get("atMobiles"), list):
                out.append("at.atMobiles missing")
            secret = self.secrets["dingtalk"]
            if secret:
                ts = query.get("timestamp", "0")
                want = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
                if query.get("sign") != want:
                    out.append("bad DingTalk signature")
                if abs(time.time() * 1000 - int(ts)) > 3_600_000:
                    out.append("DingTalk timestamp more than an hour off")
        elif kind == "feishu":
            if body.get("msg_type") != "text" or not body.get("content", {}).get("text"):
                out.append("not a text message")
            secret = self.secrets["feishu"]
            if secret:
                ts = str(body.get("timestamp", "0"))
                want = base64.b64encode(hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
                if body.get("sign") != want:
                    out.append("bad Feishu signature")
        elif kind == "hook":
            for key in ("version", "id", "kind", "step", "recipient", "language", "title", "text", "url", "facts"):
                if key not in body:
                    out.append(f"webhook body without {key}")
            if headers.get("X-SafeCampus-Id") != body.get("id"):
                out.append("X-SafeCampus-Id is not the body's id")
            secret = self.secrets["hook"]
            if secret:
                ts = headers.get("X-SafeCampus-Timestamp", "0")
                want = "sha256=" + hmac.new(secret.encode(), f"{ts}.".encode() + raw, hashlib.sha256).hexdigest()
                if headers.get("X-SafeCampus-Signature") != want:
                    out.append("bad webhook signature")
        return out


class MailReceiver:
    """A real SMTP server (aiosmtpd) that accepts a login and keeps each message."""

    def __init__(self, user: str = "alarms", password: str = "pw") -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list = []
        self.logins: list[str] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                outer.messages.append(message_from_bytes(envelope.content, policy=email_policy))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            if ok:
                outer.logins.append(user)
            return AuthResult(success=ok)

        from ingest.app.embedded import pick_port

        self.port = pick_port(0)  # aiosmtpd's controller checks its port by connecting: it needs a real one
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticator,
                                     auth_require_tls=False)

    def start(self) -> MailReceiver:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
