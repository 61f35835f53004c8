"""What this project does because its database is SQLite: the default URL, the
engine's options and the connection set-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, DateTime, Engine, event, make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from .config import Settings

# In the project folder, so the database does not move with the working directory.
PROJECT_DIR = Path(__file__).resolve().parent.parent
DATABASE_FILE = PROJECT_DIR / "{{ cookiecutter.project_slug }}.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DATABASE_FILE}"
# SQLite alters tables by copying them.
MIGRATE_OPTIONS: dict[str, Any] = {"render_as_batch": True}
# The column keeps no offset: timestamps are stored as naive UTC.
TIMESTAMP = DateTime(timezone=True)
KEEPS_OFFSET = False
# What `flask db upgrade` adds when it cannot connect.
MISSING_DATABASE_HINT = "Does the folder of the database file exist, and may this user write there?"
# Seconds to wait for the database before giving up (the health check relies on it).
CONNECT_TIMEOUT = 3


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
    """Every option the engine is built with."""
    return {"connect_args": {"timeout": CONNECT_TIMEOUT}}


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Foreign keys are off by default in SQLite; WAL lets readers run beside a writer.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    # Let SQLAlchemy emit BEGIN itself, so SAVEPOINTs (used by the tests) nest correctly.
    dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _begin_sqlite(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
