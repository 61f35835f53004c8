"""The database and migration extensions, bound to an app in ``create_app``."""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Flask, Response, current_app, has_request_context, jsonify, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Connection, MetaData, Result, event, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session

from .config import Settings
from .{{ cookiecutter.database }} import BEGIN_WRITING, MIGRATE_OPTIONS, engine_options, listen

logger = logging.getLogger(__name__)


class Base(DeclarativeBase):
    # Named constraints, so migrations can drop and alter them on every database.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# After a commit a view answers with what it wrote, not with the row read again: that
# would cost a round trip, and could show another request's later write.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate(**MIGRATE_OPTIONS)


def init_app(app: Flask, settings: Settings) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = settings.database_url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        # SQL parameters never appear in errors or logs: they hold emails and secrets.
        "hide_parameters": True,
        **pool_options(settings),
        # The driver's timeouts, from DATABASE_TIMEOUT.
        **engine_options(settings),
    }
    db.init_app(app)
    with app.app_context():
        listen(db.engine)
        event.listen(db.engine, "begin", _begin)
    migrate.init_app(app, db)
    for error_class in UNAVAILABLE_ERRORS:
        app.register_error_handler(error_class, database_unavailable)


# Requests that only read.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _begin(connection: Connection) -> None:
    """The driver runs in autocommit mode ({{ cookiecutter.database }}.py), and transactions begin here.

    A request that only reads needs none: each of its statements stands alone, so a view's
    one SELECT is one round trip, without BEGIN and ROLLBACK around it. A request that may
    write begins with BEGIN_WRITING (see there). A view may say otherwise with the execution
    option `writes` (logging in only reads). Work outside a request (the CLI, migrations,
    jobs, the tests) begins an ordinary transaction."""
    by_method = request.method not in READ_ONLY_METHODS if has_request_context() else None
    writes = connection.get_execution_options().get("writes", by_method)
    if writes is not False:
        connection.exec_driver_sql(BEGIN_WRITING if writes else "BEGIN")


@event.listens_for(Session, "do_orm_execute")
def _once_more_on_a_new_connection(state: ORMExecuteState) -> Result[Any] | None:
    """A connection the server dropped (a restart, an idle cut-off) fails the first statement
    that uses it. Rather than test every connection as it leaves the pool (a round trip per
    request: DATABASE_POOL_PRE_PING), the first statement of a transaction runs once more,
    on a new connection: nothing before it can be lost. SQLAlchemy then replaces the pool's
    other connections as they are next taken; a later statement that fails answers 503."""
    if state.session.in_transaction():
        return None
    try:
        return state.invoke_statement()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        state.session.rollback()
        return state.invoke_statement()


def pool_options(settings: Settings) -> dict[str, Any]:
    if make_url(settings.database_url).database in (None, "", ":memory:"):
        return {}  # an in-memory database has no pool to size
    return {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
        "pool_timeout": settings.database_pool_timeout,
        "pool_recycle": settings.database_pool_recycle,
        # Off by default: the first statement's retry (above) replaces a dropped connection.
        "pool_pre_ping": settings.database_pool_pre_ping,
    }


# docs/api.md, "When the project has a database": a database that is down or does not
# answer in time makes every route answer 503 with Retry-After within DATABASE_TIMEOUT, one
# log line (no SQL, no parameters), and the pool replaces broken connections once it is back.
# Refused or dropped connections and lock waits that ran out (OperationalError), a pool
# with no free connection in time (PoolTimeoutError), sockets failing under the driver.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    TimeoutError,
    OSError,
)


def database_unavailable(error: Exception) -> tuple[Response, int, dict[str, str]]:
    db.session.rollback()
    reason = str(getattr(error, "orig", None) or error).splitlines()[0][:200] if str(error) else ""
    logger.error(
        "database unavailable: %s %s: %s %s",
        request.method,
        request.path,
        type(error).__name__,
        reason,
    )
    settings: Settings = current_app.config["SETTINGS"]
    retry_after = str(math.ceil(settings.database_timeout))
    return jsonify(detail="Service Unavailable"), 503, {"Retry-After": retry_after}
