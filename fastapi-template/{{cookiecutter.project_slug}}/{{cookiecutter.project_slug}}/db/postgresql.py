"""PostgreSQL, through asyncpg."""

from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

DEFAULT_URL = "postgresql://postgres@localhost:5432/{{ cookiecutter.project_slug }}"
# The secrets of tutorials and of the official image's examples: production refuses them.
DEFAULT_PASSWORDS = frozenset({"postgres", "changeme"})
# Plain schemes people write (and hosting platforms hand out) -> the async driver we install.
DRIVERS = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
URL_FORMS = "postgresql://user:pass@host:5432/name (or postgres://)"
# Connecting when no DATABASE_TIMEOUT applies (migrations).
DEFAULT_CONNECT_TIMEOUT = 10.0
# A request that only reads sends no BEGIN and COMMIT around its statements: two round
# trips fewer. asyncpg switches to autocommit and back in the client, without a round trip.
READ_OPTIONS: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"}


def finish_url(url: URL) -> URL:
    return url


def engine_options(timeout: float | None) -> dict[str, Any]:
    return {"connect_args": _connect_args(timeout)}


def _connect_args(timeout: float | None) -> dict[str, Any]:
    if timeout is None:
        # Migrations: a long ALTER TABLE is not a fault.
        return {"timeout": DEFAULT_CONNECT_TIMEOUT}
    # `timeout` bounds connecting; `command_timeout` every statement, measured here in the
    # client, so it holds even when the server stops answering altogether.
    return {"timeout": timeout, "command_timeout": timeout}


def prepare(engine: AsyncEngine) -> None:
    """Nothing to tune: asyncpg's defaults suit PostgreSQL."""
