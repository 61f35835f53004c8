"""Logging set up once, as text or JSON lines, from the settings."""

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

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
                "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
                "json": {"()": JsonFormatter},
            },
            "handlers": {
                "console": {
                    "class": "logging.StreamHandler",
                    "formatter": formatter,
                    "stream": "ext://sys.stderr",
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
