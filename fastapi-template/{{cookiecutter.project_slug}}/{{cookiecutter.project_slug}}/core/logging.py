"""Logging set up once, as text or JSON lines, from the settings."""

import json
import logging
import logging.config
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
{%- if cookiecutter.use_observability %}

from {{ cookiecutter.project_slug }}.observability.request_id import current_request_id

# Read into every record at the console handler (and into every request line): the id of
# the request the record was made in, "-" outside one.
CONTEXT: dict[str, Callable[[], str]] = {"request_id": current_request_id}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
{%- else %}

# Attributes read into every record at the console handler (and into every request line).
CONTEXT: dict[str, Callable[[], str]] = {}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
{%- endif %}
# Attributes every LogRecord has; anything else was passed through `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so log shippers need no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(
            {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRS}
        )
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class ContextFilter(logging.Filter):
    """Adds the CONTEXT attributes to each record the handler it is on writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, read in CONTEXT.items():
            if not hasattr(record, name):
                setattr(record, name, read())
        return True


class ThroughAppHandlers(logging.Filter):
    """Hands a server record to the app's (root) handlers, then stops it where it is.

    Uvicorn may configure its loggers after the app is imported (`fastapi run` imports the
    app first), which brings back its own handlers; a logger's filters survive that.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for handler in logging.getLogger().handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
        return False


class RequestLog:
    """The one line per request: method, path, status and duration, never headers or bodies.

    It is by far the most frequent record, and building and formatting a LogRecord costs
    more than answering /health does. So while the console handler set up here is the only
    one, the line is formatted here, as that handler would, and written under its lock. With
    any other handler (a test's capture, one you add) it is an ordinary record.
    """

    def __init__(self, name: str) -> None:
        self.logger = logging.getLogger(name)
        self.console: logging.StreamHandler[Any] | None = None
        self.as_json = False
        self._second = -1
        self._stamp = ""

    def __call__(self, method: str, path: str, status: int, duration_ms: float) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        message = f"{method} {path} {status} {duration_ms}ms"
        console = self.console
        if console is None or not self._console_only(console):
            record = logging.LogRecord(logger.name, logging.INFO, "", 0, message, None, None)
            record.method, record.path, record.status = method, path, status
            record.duration_ms = duration_ms
            logger.handle(record)
            return
        now = time.time()
        context = {name: read() for name, read in CONTEXT.items()}
        if self.as_json:
            fields = {"method": method, "path": path, "status": status, "duration_ms": duration_ms}
            time_ = datetime.fromtimestamp(now, UTC).isoformat()
            payload: dict[str, Any] = {"time": time_, "level": "INFO", "logger": logger.name}
            line = json.dumps({**payload, "message": message, **fields, **context})
        else:
            head = {"asctime": self._asctime(now), "levelname": "INFO", "name": logger.name}
            line = TEXT_FORMAT % {**head, "message": message, **context}
        console.acquire()
        try:
            console.stream.write(line + "\n")
            console.flush()
        finally:
            console.release()

    def _console_only(self, console: logging.Handler) -> bool:
        node: logging.Logger | None = self.logger
        while node is not None:
            if node.filters or node.disabled:
                return False
            if node.parent is None:
                return len(node.handlers) == 1 and node.handlers[0] is console
            if node.handlers or not node.propagate:
                return False
            node = node.parent
        return False  # pragma: no cover - the root logger ends every chain

    def _asctime(self, now: float) -> str:
        # As logging.Formatter writes %(asctime)s, with the date part made once a second.
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._stamp},{int((now - second) * 1000):03d}"


request_log = RequestLog("{{ cookiecutter.project_slug }}.request")
_configured = False


def configure_logging(level: str, log_format: str) -> None:
    """Install the handlers once per process; later calls (more apps, tests) only set the level."""
    global _configured
    if _configured:
        logging.getLogger().setLevel(level)
        return
    _configured = True
    formatter = "json" if log_format == "json" else "text"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "text": {"format": TEXT_FORMAT},
                "json": {"()": JsonFormatter},
            },
            "filters": {"context": {"()": ContextFilter}},
            "handlers": {
                "console": {
                    "class": "logging.StreamHandler",
                    "formatter": formatter,
                    "stream": "ext://sys.stderr",
                    "filters": ["context"],
                }
            },
            "root": {"handlers": ["console"], "level": level},
            "loggers": {
                # Uvicorn's own loggers go through ours; its access log would
                # duplicate the request middleware's line.
                "uvicorn": {"handlers": [], "propagate": True},
                "uvicorn.error": {"handlers": [], "propagate": True},
                "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            },
        }
    )
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).addFilter(ThroughAppHandlers())
    console = logging.getLogger().handlers[0]
    if isinstance(console, logging.StreamHandler):
        request_log.console = console
        request_log.as_json = log_format == "json"
