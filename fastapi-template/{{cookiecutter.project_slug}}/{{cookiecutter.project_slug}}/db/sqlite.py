"""SQLite: a file beside the project, through aiosqlite, one thread trip per statement.

SQLite lets many connections read at once but only one write at a time. A transaction
that starts with a plain `BEGIN`, reads, and then writes must upgrade its lock, and
SQLite refuses the upgrade at once ("database is locked") when another connection is
writing, whatever the busy timeout. So a transaction that may write starts with
`BEGIN IMMEDIATE`: it takes the write lock when it begins and, if another writer holds
it, waits up to DATABASE_TIMEOUT for it. WAL lets readers carry on beside the writer.

What SQLite cannot do: be written by several machines. One machine, several worker
processes, is fine; beyond that, the project needs a database server.
"""

import collections
import sqlite3
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
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


class Outcome(NamedTuple):
    """What a statement left on its cursor, read in the connection's thread."""

    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]
    arraysize: int = 1

    def close(self) -> None:
        """Nothing to close: the sqlite3 cursor was closed in the trip that ran it."""


NOT_RUN = Outcome(None, -1, None, [])


def _run(connection: sqlite3.Connection, operation: str, parameters: Any) -> Outcome:
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return Outcome(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A statement, its rows and the cursor's close in one trip to the connection's thread.

    aiosqlite runs each sqlite3 call in a thread of the connection's own, and SQLAlchemy's
    cursor makes four such trips per statement (open, execute, fetch, close), each a thread
    wake-up and an event-loop wake-up. One trip is what the work needs: it took the CPU per
    `GET /api/v1/items/{id}` from 2.8-4.0 ms to 2.1-3.0 ms (one worker, 32 connections).
    """

    __slots__ = ()
    _awaitable_cursor_close = False

    def _make_new_cursor(self, connection: Any) -> Any:
        return None  # made in the trip that runs the statement

    def _aenter_cursor(self, cursor: Any) -> Any:
        return NOT_RUN

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            # aiosqlite's queue to its thread, which SQLAlchemy's own adapter also uses.
            outcome = await self._connection._execute(
                _run, self._connection._conn, operation, parameters
            )
        self._cursor = outcome
        self._rows = collections.deque(outcome.rows)
        return outcome

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            outcome = await self._connection._execute(
                _run_many, self._connection._conn, operation, seq_of_parameters
            )
        self._cursor = outcome
        return outcome


def _run_many(connection: sqlite3.Connection, operation: str, seq_of_parameters: Any) -> Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return Outcome(None, cursor.rowcount, cursor.lastrowid, [])
    finally:
        cursor.close()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Commit and rollback make no trip when no transaction is open: a request that only
    read, and the pool's reset when a connection comes back, cost nothing."""

    __slots__ = ()
    _cursor_cls = OneTripCursor

    def _in_transaction(self) -> bool:
        connection = self._connection._connection  # None once closed
        return connection is not None and connection.in_transaction

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *args: Any, **kwargs: Any) -> OneTripConnection:
        adapted = super().connect(*args, **kwargs)
        return OneTripConnection(self, adapted._connection)


def engine_options(timeout: float | None) -> dict[str, Any]:
    # sqlite3's `timeout` is how long a statement waits for another connection's lock.
    return {
        "connect_args": {"timeout": timeout or DEFAULT_LOCK_WAIT},
        "module": OneTripDBAPI(aiosqlite, sqlite3),
    }


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
