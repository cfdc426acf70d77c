"""Officers log in; wall screens use a read-only kiosk link; every change is checked by role.

Passwords are hashed with Argon2id. The session is Flask's signed cookie (HttpOnly,
SameSite=Strict, Secure when served over HTTPS). Requests that change state (POST) must
come from our own origin, which with SameSite=Strict cookies is the CSRF protection.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, has_request_context, redirect, render_template_string, request, session

from dashboard import login_limit
from dashboard import queries as q
from dashboard.db import connection
from ingest import accounts

logger = logging.getLogger(__name__)

RANK = {"kiosk": 0, "viewer": 1, "officer": 2, "admin": 3}

LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SafeCampus - log in</title>
<link rel="stylesheet" href="/assets/safecampus.css"></head><body class="sc-login-body">
<form method="post" action="/login" class="sc-login">
<h1>SafeCampus</h1>
{% if error %}<p class="sc-error" role="alert">{{ error }}</p>{% endif %}
<label>User <input name="username" id="username" autocomplete="username" autofocus required></label>
<label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label>
<input type="hidden" name="next" value="{{ next }}">
<button type="submit" id="login-submit">Log in</button>
</form></body></html>"""


class TooManyAttemptsError(Exception):
    """Password attempts for this account or address are paused; the message says how long."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"Too many wrong passwords: try again in {seconds} s.")
        self.seconds = seconds


def check_password(username: str, password: str) -> dict[str, Any] | None:
    """The user's role, name and session version when the password is right, else None.

    Every check counts against the account and the client's address (login and handover
    sign-off alike, in the database, so all dashboard processes share the limit); raises
    TooManyAttemptsError while either is paused.
    """
    address = (request.remote_addr if has_request_context() else None) or "?"
    with connection() as conn:
        wait = login_limit.blocked(conn, username, address)
        if wait:
            raise TooManyAttemptsError(wait.seconds())
        row = accounts.verify(conn, username, password)
        if row is None:
            login_limit.failed(conn, username, address)
            logger.warning("wrong password for %r from %s", username, address)
            return None
        login_limit.succeeded(conn, username)
    return {"role": row["role"], "name": row["display_name"], "v": row["session_version"]}



def same_origin(origin: str, host_url: str) -> bool:
    """True when ``origin`` (an Origin or Referer header) is exactly our scheme, host and port."""
    try:
        theirs, ours = urlsplit(origin), urlsplit(host_url)
        return (theirs.scheme, theirs.hostname, theirs.port or _default_port(theirs.scheme)) == \
            (ours.scheme, ours.hostname, ours.port or _default_port(ours.scheme))
    except ValueError:  # a malformed port
        return False


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme)


def current_user() -> dict[str, Any] | None:
    """The logged-in user (or kiosk) of this request, if any."""
    user = session.get("user")
    return user if isinstance(user, dict) else None


def allowed(minimum: str) -> bool:
    """Whether this request's user has at least role ``minimum``."""
    user = current_user()
    return user is not None and RANK.get(user["role"], -1) >= RANK[minimum]


def refusal(minimum: str, what: str) -> str | None:
    """None when allowed, else the message to show (checked on the server for every change)."""
    if allowed(minimum):
        return None
    user = current_user()
    who = f"your role ({user['role']})" if user else "you are not logged in, and"
    return f"Refused: {who} may not {what}."


def install(server: Flask, secret_key: str, kiosk_token: str | None, *, secure_cookies: bool = False) -> None:
    """Add login, logout, kiosk links, CSRF origin checks and security headers to ``server``."""
    server.secret_key = secret_key
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                         SESSION_COOKIE_SECURE=secure_cookies, PERMANENT_SESSION_LIFETIME=12 * 3600)
    @server.before_request
    def _guard():  # type: ignore[no-untyped-def]
        if request.method == "POST":
            origin = request.headers.get("Origin") or request.headers.get("Referer") or ""
            if origin and not same_origin(origin, request.host_url):
                abort(403)
        token = request.args.get("kiosk")
        if token is not None and kiosk_token and hmac.compare_digest(token, kiosk_token):
            session.clear()
            session["user"] = {"name": "wall screen", "role": "kiosk", "username": "kiosk"}
        _check_session()
        return None

    def _check_session() -> None:
        """Every request: the cookie's user still exists, is enabled and has its version."""
        user = current_user()
        if not user or user.get("role") == "kiosk" or request.path.startswith("/assets/"):
            return
        with connection() as conn:
            row = conn.execute(q.SESSION_USER, {"u": user.get("username")}).fetchone()
        if not row or row["session_version"] != user.get("v"):
            session.clear()  # revoked: role or password changed, logged out elsewhere, or disabled
            return
        if row["role"] != user.get("role"):
            session.clear()

    @server.after_request
    def _headers(resp):  # type: ignore[no-untyped-def]
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        # Dash needs inline scripts and eval for its renderer; frames only from our origin.
        resp.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
                                "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                "connect-src 'self'; frame-ancestors 'self'")
        return resp

    @server.route("/login", methods=["GET", "POST"])
    def login():  # type: ignore[no-untyped-def]
        nxt = request.values.get("next", "/console")
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/console"
        if request.method == "GET":
            return render_template_string(LOGIN_PAGE, error=None, next=nxt)
        username = request.form.get("username", "").strip()[:64]
        try:
            user = check_password(username, request.form.get("password", ""))
        except TooManyAttemptsError as exc:
            return render_template_string(LOGIN_PAGE, error=str(exc), next=nxt), 429
        if not user:
            return render_template_string(LOGIN_PAGE, error="Wrong user or password.", next=nxt), 401
        session.clear()
        session.permanent = True
        session["user"] = {"username": username, **user}
        session["csrf"] = secrets.token_urlsafe(16)
        logger.info("%s logged in as %s", username, user["role"])
        return redirect(nxt)

    @server.route("/logout", methods=["POST", "GET"])
    def logout():  # type: ignore[no-untyped-def]
        user = current_user()
        if user and user.get("role") != "kiosk":
            with connection() as conn:  # every cookie of this user from before now stops working
                conn.execute(q.REVOKE_SESSIONS, {"u": user.get("username")})
                conn.commit()
        session.clear()
        return redirect("/login")
