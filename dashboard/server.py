"""Serve the dashboard (``safecampus dashboard``), in one process or several.

With ``SAFECAMPUS_DASHBOARD_WORKERS=N`` the parent binds the port once and forks N worker
processes that accept on the same socket; each has its own pool and its own LISTEN
connection, so every open page gets every alarm change whichever worker serves it.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket

from pydantic import SecretStr

from dashboard.app import create_app
from ingest.core.settings import Settings
from ingest.db.pool import open_pool

logger = logging.getLogger(__name__)


def _serve_on(settings: Settings, fd: int | None) -> None:
    from werkzeug.serving import make_server

    pool = open_pool(settings.require_db_url(), min_size=1, max_size=8, name="dashboard")
    try:
        app = create_app(settings, pool)
        app.server.extensions["safecampus_feed"].start()  # hear every change from the start
        server = make_server(settings.dashboard_host, settings.dashboard_port, app.server, threaded=True, fd=fd)
        server.serve_forever()
    finally:
        pool.close()


def serve(settings: Settings) -> int:
    """Run the dashboard until interrupted."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    logger.info("dashboard on http://%s:%d/wall (%d worker(s))", settings.dashboard_host, settings.dashboard_port,
                settings.dashboard_workers)
    if settings.dashboard_workers == 1:
        _serve_on(settings, None)
        return 0
    if not settings.secret_key:
        # Every worker must sign sessions with the same key.
        settings = settings.model_copy(update={"secret_key": SecretStr(secrets.token_urlsafe(32))})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.dashboard_host, settings.dashboard_port))
    sock.listen(256)
    sock.set_inheritable(True)
    children = []
    for _ in range(settings.dashboard_workers):
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                _serve_on(settings, sock.fileno())
            finally:
                os._exit(0)
        children.append(pid)

    def stop(_sig: int, _frame: object) -> None:
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        os.waitpid(child, 0)
    return 0
