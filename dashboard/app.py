"""Build the Dash app: pages, login, live push, and the process's database pool."""

from __future__ import annotations

import logging
import secrets
import sys
from pathlib import Path
from typing import Any

import dash
from dash import Dash, dcc, html
from psycopg_pool import ConnectionPool

from dashboard import auth, lang, live, plans
from dashboard.db import POOL_KEY
from dashboard.ids import LIVE_SIGNAL, URL
from dashboard.report import routes as report_routes
from ingest.alarms.engine import AlarmEngine, load_procedures
from ingest.core import clock, i18n
from ingest.core.settings import Settings
from ingest.patrol.engine import PatrolEngine

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent


class SafeCampusDash(Dash):
    """Dash with the reader's language on the page (``<html lang>``: fonts and screen readers use it)."""

    def interpolate_index(self, metas: Any = "", title: Any = "", css: Any = "", config: Any = "", scripts: Any = "",
                          app_entry: Any = "", favicon: Any = "", renderer: Any = "") -> Any:
        """Dash's index page, marked with this request's language."""
        page = super().interpolate_index(metas, title, css, config, scripts, app_entry, favicon, renderer)
        return page.replace("<html>", f'<html lang="{lang.current()}">', 1)


def language_switch() -> html.Nav:
    """On every page: each language in its own words; the server remembers the choice."""
    return html.Nav(
        [html.A(name, href=f"/lang/{tag}", lang=tag, id=f"lang-{tag}", className="sc-lang-link")
         for tag, name in i18n.NAMES.items()],
        className="sc-lang-switch",
        id="lang-switch",
    )


def create_app(settings: Settings, pool: ConnectionPool) -> Dash:
    """A configured Dash app bound to ``pool`` (opened and closed by the caller)."""
    app = SafeCampusDash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title="SafeCampus",
        update_title=None,  # type: ignore[arg-type]  # Dash documents None: no "Updating..." title
        suppress_callback_exceptions=False,
    )
    server = app.server
    clock.use_campus_zone(settings.site_timezone)
    server.extensions[POOL_KEY] = pool
    server.extensions["safecampus_notify_file"] = settings.notify_file  # the admin page reads it as ingest does
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    if not secret:
        logger.warning("SAFECAMPUS_SECRET_KEY is not set: sessions end when this process restarts")
        secret = secrets.token_urlsafe(32)
    kiosk = settings.kiosk_token.get_secret_value() if settings.kiosk_token else None
    auth.install(server, secret, kiosk, secure_cookies=settings.secure_cookies)
    lang.install(server, settings.site_language)  # after auth: a revoked session has no language
    feed = live.AlarmFeed(settings.require_db_url())
    server.extensions["safecampus_feed"] = feed
    server.extensions["safecampus_wall_cache"] = live.SharedRead()
    # Scans and SOS from guards' phones go through the same rules as ingest's (its sensor cache is derived).
    server.extensions["safecampus_patrols"] = PatrolEngine(AlarmEngine(
        timezone=settings.site_timezone, procedures=load_procedures(settings.procedures_file),
        escalation_s=settings.escalation_limits(), clock_tolerance_s=settings.ingest_clock_tolerance_s))
    live.install(server, feed)
    plans.install(server)
    report_routes.install(server, settings.site_timezone, settings.escalation_limits(), settings.retention_days)
    app.layout = html.Div([dcc.Location(id=URL), dcc.Store(id=LIVE_SIGNAL), language_switch(), dash.page_container],
                          className="sc-root")
    # Pages show a login notice to strangers, so give Dash every page's full frame to check
    # callbacks against (typos still fail; absent pages do not).
    # Dash rebuilds validation_layout from layout() on its first request (a before_request hook
    # registered earlier than this one), so set ours after it, on every request.
    frames = [getattr(sys.modules[p["module"]], "frame", lambda: None)() for p in dash.page_registry.values()]
    validation = html.Div([app.layout, *[f for f in frames if f is not None]])

    @server.before_request
    def _validation_layout() -> None:
        app.validation_layout = validation  # type: ignore[assignment]  # Dash types it as None
    return app
