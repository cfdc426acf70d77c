"""Officers log in; wall screens use a read-only kiosk link; every change is checked by role.

Passwords are hashed with Argon2id. The session is Flask's signed cookie (HttpOnly,
SameSite=Strict, Secure when served over HTTPS). Requests that change state (POST) must
come from our own origin, which with SameSite=Strict cookies is the CSRF protection.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, has_request_context, redirect, render_template_string, request, session

from dashboard import lang, login_limit
from dashboard import queries as q
from dashboard.db import connection
from ingest import accounts
from ingest.core import i18n
from ingest.core.vocabulary import ROLE_LABELS

logger = logging.getLogger(__name__)

RANK = {"kiosk": 0, "guard": 0, "viewer": 1, "officer": 2, "admin": 3}  # a guard: /guard and plans

LOGIN_PAGE = """<!doctype html><html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ t.title }}</title>
<link rel="stylesheet" href="/assets/safecampus.css"></head><body class="sc-login-body">
<form method="post" action="/login" class="sc-login">
<h1>SafeCampus</h1>
{% if error %}<p class="sc-error" role="alert">{{ error }}</p>{% endif %}
<label>{{ t.user }} <input name="username" id="username" autocomplete="username" autofocus required></label>
<label>{{ t.password }} <input name="password" id="password" type="password" autocomplete="current-password"
 required></label>
<input type="hidden" name="next" value="{{ next }}">
<button type="submit" id="login-submit">{{ t.submit }}</button>
<p class="sc-lang-switch">{% for tag, name in langs %}
<a href="/lang/{{ tag }}?next=/login%3Fnext%3D{{ next|urlencode }}" lang="{{ tag }}">{{ name }}</a>
{% endfor %}</p>
</form></body></html>"""


def _login_page(error: str | None, nxt: str) -> str:
    _ = lang.gettext()
    texts = {"title": _("SafeCampus - log in"), "user": _("User"), "password": _("Password"), "submit": _("Log in")}
    return render_template_string(LOGIN_PAGE, error=error, next=nxt, t=texts, lang=lang.current(),
                                  langs=list(i18n.NAMES.items()))


class TooManyAttemptsError(Exception):
    """Password attempts for this account or address are paused; the message says how long."""

    def __init__(self, seconds: int) -> None:
        super().__init__(self.render(str, seconds))
        self.seconds = seconds

    def render(self, _: Callable[[str], str], seconds: int | None = None) -> str:
        """The message in the language of ``_``."""
        return _("Too many wrong passwords: try again in {n} s.").format(n=self.seconds if seconds is None
                                                                         else seconds)


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
    return {"role": row["role"], "name": row["display_name"], "v": row["session_version"], "language": row["language"]}



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


def refusal(minimum: str, what: str, _: Callable[[str], str] = str) -> str | None:
    """None when allowed, else the message to show (checked on the server for every change).

    ``what`` is a marked string (``N_``), translated here with the reader's ``_``.
    """
    if allowed(minimum):
        return None
    user = current_user()
    if user:
        role = _(ROLE_LABELS.get(user["role"], user["role"]))
        return _("Refused: your role ({role}) may not {what}.").format(role=role, what=_(what))
    return _("Refused: you are not logged in, and may not {what}.").format(what=_(what))


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
            return
        if row["language"] != user.get("language"):  # set by an admin, or in another browser
            lang.remember(row["language"])

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
            return _login_page(None, nxt)
        username = request.form.get("username", "").strip()[:64]
        try:
            user = check_password(username, request.form.get("password", ""))
        except TooManyAttemptsError as exc:
            return _login_page(exc.render(lang.gettext()), nxt), 429
        if not user:
            _ = lang.gettext()
            return _login_page(_("Wrong user or password."), nxt), 401
        session.clear()
        session.permanent = True
        session["user"] = {"username": username, **user}
        session["csrf"] = secrets.token_urlsafe(16)
        logger.info("%s logged in as %s", username, user["role"])
        if user["role"] == "guard" and not nxt.startswith("/guard"):
            nxt = "/guard"  # a guard's one page
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
