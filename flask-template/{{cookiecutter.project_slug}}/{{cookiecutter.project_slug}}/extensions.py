"""The database and migration extensions, bound to an app in ``create_app``."""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase

from .config import Settings
from .{{ cookiecutter.database }} import MIGRATE_OPTIONS, engine_options

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


db = SQLAlchemy(model_class=Base)
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
    migrate.init_app(app, db)
    for error_class in UNAVAILABLE_ERRORS:
        app.register_error_handler(error_class, database_unavailable)


def pool_options(settings: Settings) -> dict[str, Any]:
    if make_url(settings.database_url).database in (None, "", ":memory:"):
        return {}  # an in-memory database has no pool to size
    return {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
        "pool_timeout": settings.database_pool_timeout,
        "pool_recycle": settings.database_pool_recycle,
        # A connection the server dropped (restart, idle cut-off) is replaced on checkout.
        "pool_pre_ping": settings.database_pool_pre_ping,
    }


# The contract's "Limits and failures": a database that is down or does not answer in
# time makes every route answer 503 with Retry-After within DATABASE_TIMEOUT, one log line
# (no SQL, no parameters), and the pool replaces broken connections once it is back.
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
