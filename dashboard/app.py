"""Build the Dash app: pages, the shared layout frame, and the process's pool."""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Dash, dcc, html
from psycopg_pool import ConnectionPool

from dashboard.db import POOL_KEY
from ingest.config import Settings

HERE = Path(__file__).parent


def create_app(settings: Settings, pool: ConnectionPool) -> Dash:
    """A configured Dash app bound to ``pool`` (opened and closed by the caller)."""
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title="SafeCampus",
        update_title=None,
        suppress_callback_exceptions=False,
    )
    app.server.extensions[POOL_KEY] = pool
    app.server.config["SAFECAMPUS_SETTINGS"] = settings
    app.layout = html.Div([dcc.Location(id="url"), dash.page_container], className="sc-root")
    return app
