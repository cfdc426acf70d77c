"""A small HTTP server for /healthz (JSON) and /metrics (Prometheus text)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ingest.core.errors import SafeCampusError

logger = logging.getLogger(__name__)


class HealthServer:
    """Serves health and metrics from callables, in a daemon thread."""

    def __init__(
        self,
        host: str,
        port: int,
        health: Callable[[], dict[str, object]],
        metrics: Callable[[], bytes],
    ) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.startswith("/healthz"):
                    state = outer._health()
                    body = json.dumps(state).encode()
                    code = 200 if state.get("status") == "ok" else 503
                    ctype = "application/json"
                elif self.path.startswith("/metrics"):
                    body, code, ctype = outer._metrics(), 200, "text/plain; version=0.0.4"
                else:
                    body, code, ctype = b"not found\n", 404, "text/plain"
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return  # one line per state change, not per scrape

        self._health = health
        self._metrics = metrics
        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise SafeCampusError(
                f"SAFECAMPUS_INGEST_HEALTH_PORT: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "choose another port, or 0 for none") from exc
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()
        logger.info("health and metrics on http://%s:%d/healthz", self._server.server_address[0], self.port)

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
