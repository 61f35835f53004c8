"""Logging, configured once per process as text or JSON lines, and one line per request."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask
{%- if cookiecutter.use_observability %}

from .observability import add_request_id_to_log_records
{%- endif %}

request_logger = logging.getLogger("{{ cookiecutter.project_slug }}.request")
{%- if cookiecutter.use_observability %}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
{%- else %}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
{%- endif %}
# Attributes every LogRecord has; anything else was passed through `extra=` (or added to
# every record, as the request id is).
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

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


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json), so log shippers need no parsing rules:
    time, level, logger and message, then every field the record was given."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(
            {key: value for key, value in vars(record).items() if key not in STANDARD_ATTRIBUTES}
        )
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure(level: str, log_format: str = "text") -> None:
{%- if cookiecutter.use_observability %}
    add_request_id_to_log_records()
{%- endif %}
    console = logging.StreamHandler()
    console.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    # basicConfig leaves an already configured root logger alone (pytest, a host app).
    logging.basicConfig(handlers=[console])
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
            method, path, code = environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), status[:3]
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            request_logger.info(
                "%s %s %s %.1fms",
                method,
                path,
                code,
                duration_ms,
                # Fields of their own in a JSON line.
                extra={
                    "method": method,
                    "path": path,
                    "status": int(code),
                    "duration_ms": duration_ms,
                },
            )
            return start_response(status, headers, *args)

        return wsgi_app(environ, start)

    app.wsgi_app = logged  # type: ignore[method-assign]
