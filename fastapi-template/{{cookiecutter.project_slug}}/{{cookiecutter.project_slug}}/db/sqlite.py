"""SQLite: a file beside the project, through aiosqlite.

SQLite lets many connections read at once but only one write at a time. A transaction
that starts with a plain `BEGIN`, reads, and then writes must upgrade its lock, and
SQLite refuses the upgrade at once ("database is locked") when another connection is
writing, whatever the busy timeout. So a transaction that may write starts with
`BEGIN IMMEDIATE`: it takes the write lock when it begins and, if another writer holds
it, waits up to DATABASE_TIMEOUT for it. WAL lets readers carry on beside the writer.

What SQLite cannot do: be written by several machines. One machine, several worker
processes, is fine; beyond that, the project needs a database server.
"""

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

# Anchored to the project folder so the database does not move with the working directory.
DEFAULT_URL = f"sqlite:///{Path(__file__).resolve().parents[2] / '{{ cookiecutter.project_slug }}.db'}"
# A file has no secret to refuse.
DEFAULT_PASSWORDS: frozenset[str] = frozenset()
# Plain schemes people write -> the async driver this project installs.
DRIVERS = {"sqlite": "sqlite+aiosqlite"}
URL_FORMS = "sqlite:///relative/path.db or sqlite:////absolute/path.db"
# Lock waits when no DATABASE_TIMEOUT applies (migrations).
DEFAULT_LOCK_WAIT = 30.0
# A request that only reads sends no BEGIN: each statement is a transaction of its own
# (sqlite3 is in autocommit mode, see `_on_connect`). Not isolation_level="AUTOCOMMIT":
# SQLAlchemy would switch sqlite3 back to its own transaction handling afterwards.
READ_OPTIONS: dict[str, Any] = {"autocommit": True}


def finish_url(url: URL) -> URL:
    return url


def connect_args(timeout: float | None) -> dict[str, Any]:
    # sqlite3's `timeout` is how long a statement waits for another connection's lock.
    return {"timeout": timeout or DEFAULT_LOCK_WAIT}


def prepare(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions start:
        # otherwise SAVEPOINTs (used by the tests' rollback) do not work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode, NORMAL is safe from corruption and saves an fsync per commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get("writes", False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif not options.get("autocommit", False):
            connection.exec_driver_sql("BEGIN")
