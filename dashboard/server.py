"""Serve the dashboard (``safecampus dashboard``) with gunicorn's threaded workers.

``SAFECAMPUS_DASHBOARD_WORKERS`` processes share the port, each with ``SAFECAMPUS_DASHBOARD_THREADS``
threads (every open page's event stream holds one) and its own database pool and LISTEN
connection (made after the fork), so every open page gets every alarm change whichever worker
serves it. A worker that stops answering its arbiter for ``SAFECAMPUS_DASHBOARD_TIMEOUT_S`` is
replaced; SIGTERM stops the workers gracefully.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from gunicorn.app.base import BaseApplication
from pydantic import SecretStr

from dashboard.app import create_app
from ingest.core.settings import Settings
from ingest.db.pool import open_pool

logger = logging.getLogger(__name__)


class DashboardServer(BaseApplication):
    """gunicorn, configured from the settings, loading one app per worker process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        """The server's configuration from the settings (not from gunicorn's command line or files)."""
        s = self.settings
        for key, value in {
            "bind": f"{s.dashboard_host}:{s.dashboard_port}",
            "workers": s.dashboard_workers,
            "worker_class": "gthread",
            "threads": s.dashboard_threads,
            "timeout": s.dashboard_timeout_s,
            "graceful_timeout": 3,  # open event streams never finish by themselves
            "keepalive": 5,
            "accesslog": None,  # no line per request
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "safecampus-dashboard",
        }.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """In each worker, after the fork: its own pool, its own alarm feed, the app."""
        pool = open_pool(self.settings.require_db_url(), min_size=1, max_size=8, name="dashboard")
        app = create_app(self.settings, pool)
        app.server.extensions["safecampus_feed"].start()  # hear every change from the start
        return app.server


def serve(settings: Settings) -> int:
    """Run the dashboard until interrupted."""
    if settings.dashboard_workers > 1 and not settings.secret_key:
        # Every worker must sign sessions with the same key.
        settings = settings.model_copy(update={"secret_key": SecretStr(secrets.token_urlsafe(32))})
    logger.info("dashboard on http://%s:%d/wall (%d worker(s) × %d threads)", settings.dashboard_host,
                settings.dashboard_port, settings.dashboard_workers, settings.dashboard_threads)
    DashboardServer(settings).run()
    return 0
