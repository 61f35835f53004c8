"""What this project does because its database is PostgreSQL: the default URL,
the driver and the engine's options."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.abc import RV, PQGen
from sqlalchemy import DateTime, Engine, event, make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from .config import Settings

DEFAULT_DATABASE_URL = "postgresql://postgres@localhost:5432/{{ cookiecutter.project_slug }}"
# The secrets of tutorials and of the official image's examples: production refuses them.
DEFAULT_PASSWORDS = frozenset({"postgres", "changeme"})
MIGRATE_OPTIONS: dict[str, Any] = {}
# How a transaction that may write begins (the driver runs in autocommit mode).
BEGIN_WRITING = "BEGIN"
# timestamptz keeps the offset.
TIMESTAMP = DateTime(timezone=True)
KEEPS_OFFSET = True
# What `flask db upgrade` adds when it cannot connect.
MISSING_DATABASE_HINT = (
    "Is the server up, and was the database created (createdb -h HOST -U USER {database})?"
)
# The connect argument that BoundedConnection takes from the engine's options.
ANSWER_TIMEOUT = "answer_timeout"

# The schemes DATABASE_URL may use, each with the driver this project installs.
DRIVER_SCHEMES = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


def with_driver(url: str) -> str:
    """``url`` with the installed driver; else a ValueError that says what to write."""
    scheme, separator, rest = url.partition("://")
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        separator = ""
    if scheme not in DRIVER_SCHEMES or not separator or not rest:
        raise ValueError(
            "expected a URL like postgresql://user@host:5432/name "
            "(postgres://, postgresql:// or postgresql+psycopg:// schemes)"
        )
    # Users and platforms hand out plain URLs; the project picks the driver it ships with.
    return f"{DRIVER_SCHEMES[scheme]}://{rest}"


def engine_options(settings: Settings) -> dict[str, Any]:
    """The driver's options: connecting and every answer end after DATABASE_TIMEOUT."""
    timeout = settings.database_timeout
    # libpq takes whole seconds, two at least.
    connect_args = {"connect_timeout": max(2, math.ceil(timeout)), ANSWER_TIMEOUT: timeout}
    # No BEGIN of the driver's own: transactions begin where extensions.py says.
    return {"connect_args": connect_args, "isolation_level": "AUTOCOMMIT"}


class BoundedConnection(psycopg.Connection[Any]):
    """A connection that gives up on a server that does not answer in time.

    libpq has no client-side limit on a statement: `statement_timeout` is enforced by a
    server that may be the one not answering (frozen, or cut off without a reset), and
    the kernel keeps acknowledging its socket. So the wait itself is bounded, and a
    connection that timed out is closed, since its state is unknown; the pool replaces it.
    """

    answer_timeout: float | None = None

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        limit = timeout if timeout is not None else self.answer_timeout
        try:
            return super().wait(gen, interval, limit)
        except psycopg.OperationalError as error:
            # psycopg raises its (private) _WaitTimeout when `limit` ran out.
            if limit is None or "timeout" not in type(error).__name__.lower():
                raise
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"the database did not answer within {limit:g} s"
            ) from None


def listen(engine: Engine) -> None:
    """Connect ``engine`` (the app's; no other engine of the process) with answers bounded."""
    event.listen(engine, "do_connect", _connect_bounded)


def _connect_bounded(_dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
    if ANSWER_TIMEOUT not in cparams:
        return None
    answer_timeout = cparams.pop(ANSWER_TIMEOUT)
    connection = BoundedConnection.connect(*cargs, **cparams)
    connection.answer_timeout = answer_timeout
    return connection
