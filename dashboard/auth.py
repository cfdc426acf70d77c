"""Officers log in; wall screens use a read-only kiosk link; every change is checked by role.

Passwords are hashed with Argon2id. The session is Flask's signed cookie (HttpOnly,
SameSite=Strict, Secure when served over HTTPS). Requests that change state (POST) must
come from our own origin, which with SameSite=Strict cookies is the CSRF protection.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections import defaultdict, deque
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask import Flask, abort, redirect, render_template_string, request, session

from dashboard.db import connection

logger = logging.getLogger(__name__)

ROLES = ("viewer", "officer", "admin")
RANK = {"kiosk": 0, "viewer": 1, "officer": 2, "admin": 3}
_HASHER = PasswordHasher()
LOGIN_LIMIT = (5, 300.0)  # failed logins per user and address in this many seconds

ADD_USER = """
INSERT INTO users (username, password_hash, role, display_name) VALUES (%(u)s, %(h)s, %(r)s, %(n)s)
ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role,
    display_name = EXCLUDED.display_name, disabled_at = NULL"""
GET_USER = "SELECT password_hash, role, display_name FROM users WHERE username = %(u)s AND disabled_at IS NULL"

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


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``."""
    return _HASHER.hash(password)


def add_user(conn: psycopg.Connection, username: str, password: str, role: str, display_name: str | None = None) -> None:
    """Create or replace a user (admin CLI)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    with conn.transaction():
        conn.execute(ADD_USER, {"u": username, "h": hash_password(password), "r": role, "n": display_name or username})


def check_password(username: str, password: str) -> dict[str, str] | None:
    """The user's role and name when the password is right, else None."""
    with connection() as conn:
        row = conn.execute(GET_USER, {"u": username}).fetchone()
    if not row:
        _HASHER.hash(password)  # same work either way: no user enumeration by timing
        return None
    try:
        _HASHER.verify(row["password_hash"], password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return {"role": row["role"], "name": row["display_name"]}


def current_user() -> dict[str, Any] | None:
    """The logged-in user (or kiosk) of this request, if any."""
    user = session.get("user")
    return user if isinstance(user, dict) else None


def allowed(minimum: str) -> bool:
    """Whether this request's user has at least role ``minimum``."""
    user = current_user()
    return bool(user) and RANK.get(user["role"], -1) >= RANK[minimum]


def refusal(minimum: str, what: str) -> str | None:
    """None when allowed, else the message to show (checked on the server for every change)."""
    if allowed(minimum):
        return None
    user = current_user()
    who = f"your role ({user['role']})" if user else "you are not logged in, and"
    return f"Refused: {who} may not {what}."


SWEEP_OVER = 10_000  # remembered (user, address) pairs before expired ones are swept


class LoginLimiter:
    """Counts failed logins per (user, address); too many in the window locks them out."""

    def __init__(self) -> None:
        self._fails: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def blocked(self, key: tuple[str, str]) -> bool:
        """True while ``key`` has too many recent failures."""
        q = self._fails.get(key)
        if q is None:
            return False
        while q and q[0] < time.monotonic() - LOGIN_LIMIT[1]:
            q.popleft()
        if not q:
            del self._fails[key]  # forget old failures: random user names must not grow this map
            return False
        return len(q) >= LOGIN_LIMIT[0]

    def failed(self, key: tuple[str, str]) -> None:
        """Record a failure (and, now and then, forget the failures that are out of the window)."""
        self._fails[key].append(time.monotonic())
        if len(self._fails) > SWEEP_OVER:
            for k in list(self._fails):
                self.blocked(k)


def install(server: Flask, secret_key: str, kiosk_token: str | None, *, secure_cookies: bool = False) -> None:
    """Add login, logout, kiosk links, CSRF origin checks and security headers to ``server``."""
    server.secret_key = secret_key
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                         SESSION_COOKIE_SECURE=secure_cookies, PERMANENT_SESSION_LIFETIME=12 * 3600)
    limiter = LoginLimiter()

    @server.before_request
    def _guard():  # type: ignore[no-untyped-def]
        if request.method == "POST":
            origin = request.headers.get("Origin") or request.headers.get("Referer") or ""
            if origin and not origin.startswith(request.host_url.rstrip("/")):
                abort(403)
        token = request.args.get("kiosk")
        if token is not None and kiosk_token and hmac.compare_digest(token, kiosk_token):
            session.clear()
            session["user"] = {"name": "wall screen", "role": "kiosk", "username": "kiosk"}
        return None

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
        key = (username, request.remote_addr or "?")
        if limiter.blocked(key):
            return render_template_string(LOGIN_PAGE, error="Too many failed attempts; wait five minutes.", next=nxt), 429
        user = check_password(username, request.form.get("password", ""))
        if not user:
            limiter.failed(key)
            logger.warning("failed login for %r from %s", username, key[1])
            return render_template_string(LOGIN_PAGE, error="Wrong user or password.", next=nxt), 401
        session.clear()
        session.permanent = True
        session["user"] = {"username": username, **user}
        session["csrf"] = secrets.token_urlsafe(16)
        logger.info("%s logged in as %s", username, user["role"])
        return redirect(nxt)

    @server.route("/logout", methods=["POST", "GET"])
    def logout():  # type: ignore[no-untyped-def]
        session.clear()
        return redirect("/login")
