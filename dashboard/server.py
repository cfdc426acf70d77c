"""Serve the dashboard (``safecampus dashboard``)."""

from __future__ import annotations

import logging

from dashboard.app import create_app
from ingest.config import Settings
from ingest.db.pool import open_pool

logger = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    """Run the dashboard until interrupted."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    pool = open_pool(settings.require_db_url(), min_size=1, max_size=8, name="dashboard")
    try:
        app = create_app(settings, pool)
        logger.info("dashboard on http://%s:%d/wall", settings.dashboard_host, settings.dashboard_port)
        app.run(host=settings.dashboard_host, port=settings.dashboard_port, debug=False, threaded=True)
    finally:
        pool.close()
    return 0
