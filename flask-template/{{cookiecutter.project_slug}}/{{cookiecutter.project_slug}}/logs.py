"""Logging, configured once per process, and one line per request."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
{%- if cookiecutter.use_observability %}

from .observability import add_request_id_to_log_records
{%- endif %}

request_logger = logging.getLogger("{{ cookiecutter.project_slug }}.request")
{%- if cookiecutter.use_observability %}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
{%- else %}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
{%- endif %}

# The development server's own access line: `127.0.0.1 - - [date] "GET / HTTP/1.1" 200 -`.
WERKZEUG_REQUEST_LINE = re.compile(r"^\S+ - - \[")


class WithoutWerkzeugRequestLines(logging.Filter):
    """Drops `flask run`'s access lines (this app logs each request itself) and keeps
    the rest of what werkzeug says: the address it listens on, the debugger, errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not WERKZEUG_REQUEST_LINE.match(
            record.getMessage()
        )


WITHOUT_WERKZEUG_REQUEST_LINES = WithoutWerkzeugRequestLines()


def configure(level: str) -> None:
{%- if cookiecutter.use_observability %}
    add_request_id_to_log_records()
{%- endif %}
    # basicConfig leaves an already configured root logger alone (pytest, a host app).
    logging.basicConfig(format=LOG_FORMAT)
    logging.getLogger("{{ cookiecutter.project_slug }}").setLevel(level)
    # Added once, however often called.
    logging.getLogger("werkzeug").addFilter(WITHOUT_WERKZEUG_REQUEST_LINES)


def init_app(app: Flask) -> None:
    """One line per request, written when the answer's status is known: a thin WSGI
    wrapper, cheaper than request hooks (no request context is looked up)."""
    wsgi_app = app.wsgi_app

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()

        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            # The path only: query strings and headers may carry secrets.
            request_logger.info(
                "%s %s %s %.1fms",
                environ["REQUEST_METHOD"],
                environ.get("PATH_INFO", ""),
                status[:3],
                (time.perf_counter() - started) * 1000,
            )
            return start_response(status, headers, *args)

        return wsgi_app(environ, start)

    app.wsgi_app = logged  # type: ignore[method-assign]
