"""Logging, configured once per process, and one line per request."""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, Response, g, request

request_logger = logging.getLogger("{{ cookiecutter.project_slug }}.request")

# The development server's own access line: `127.0.0.1 - - [date] "GET / HTTP/1.1" 200 -`.
WERKZEUG_REQUEST_LINE = re.compile(r"^\S+ - - \[")


class WithoutWerkzeugRequestLines(logging.Filter):
    """Drops `flask run`'s access lines (this app logs each request itself) and keeps
    the rest of what werkzeug says: the address it listens on, the debugger, errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not WERKZEUG_REQUEST_LINE.match(record.getMessage())


WITHOUT_WERKZEUG_REQUEST_LINES = WithoutWerkzeugRequestLines()


def configure(level: str) -> None:
    # basicConfig leaves an already configured root logger alone (pytest, a host app).
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("{{ cookiecutter.project_slug }}").setLevel(level)
    logging.getLogger("werkzeug").addFilter(WITHOUT_WERKZEUG_REQUEST_LINES)  # added once, however often called


def init_app(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        started = g.get("request_started", time.perf_counter())
        # The path only: query strings and headers may carry secrets.
        request_logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response
