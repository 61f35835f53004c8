"""What this project does because its database is SQLite: the default URL, the
engine's options and the connection set-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Engine, event, make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from .config import Settings

# In the project folder, so the database does not move with the working directory.
PROJECT_DIR = Path(__file__).resolve().parent.parent
DATABASE_FILE = PROJECT_DIR / "{{ cookiecutter.project_slug }}.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DATABASE_FILE}"
# A file has no secret to refuse.
DEFAULT_PASSWORDS: frozenset[str] = frozenset()
# SQLite alters tables by copying them.
MIGRATE_OPTIONS: dict[str, Any] = {"render_as_batch": True}
# The column keeps no offset: timestamps are stored as naive UTC.
TIMESTAMP = DateTime(timezone=True)
KEEPS_OFFSET = False
# What `flask db upgrade` adds when it cannot connect.
MISSING_DATABASE_HINT = "Does the folder of the database file exist, and may this user write there?"
# SQLite allows one writer at a time. A transaction that starts with a plain `BEGIN`,
# reads, then writes must upgrade its lock, and SQLite refuses that at once ("database is
# locked") while another connection writes, whatever the busy timeout. So a request that
# may write begins with `BEGIN IMMEDIATE` (see the database module, extensions.py): it takes
# the write lock up front, waiting up to DATABASE_TIMEOUT for it; WAL lets readers go on
# meanwhile. Several worker processes on one machine are fine; several machines writing
# one file are not.
BEGIN_WRITING = "BEGIN IMMEDIATE"


def with_driver(url: str) -> str:
    """``url`` when SQLite can use it; else a ValueError that says what to write."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        parsed = None
    if parsed is None or parsed.drivername != "sqlite" or not url.startswith("sqlite://"):
        raise ValueError(
            "expected a SQLite URL: sqlite:///relative/path.db, sqlite:////absolute/path.db, "
            "sqlite:// (memory)"
        )
    return url


def engine_options(settings: Settings) -> dict[str, Any]:
    """The driver's options: how long a statement waits for another connection's lock."""
    return {"connect_args": {"timeout": settings.database_timeout}}


def listen(engine: Engine) -> None:
    """Set up each new connection of ``engine`` (the app's; no other engine of the process)."""
    event.listen(engine, "connect", _configure_sqlite)


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside a writer.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode, NORMAL is safe from corruption and saves an fsync per commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Autocommit: the driver begins no transaction of its own; SQLAlchemy's begin where
    # extensions.py says, and SAVEPOINTs (used by the tests) nest correctly.
    dbapi_connection.isolation_level = None
