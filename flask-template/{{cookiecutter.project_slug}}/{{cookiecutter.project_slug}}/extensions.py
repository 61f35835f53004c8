"""The database and migration extensions, bound to an app in ``create_app``."""

from __future__ import annotations
{% if cookiecutter.database == "sqlite" %}
import sqlite3
{%- endif %}
from typing import Any

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import {% if cookiecutter.database == "sqlite" %}Connection, Engine, {% endif %}MetaData{% if cookiecutter.database == "sqlite" %}, event{% endif %}
from sqlalchemy.orm import DeclarativeBase

# Seconds to wait for the database before giving up (the health check relies on it).
CONNECT_TIMEOUT = 3


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
{%- if cookiecutter.database == "sqlite" %}
migrate = Migrate(render_as_batch=True)  # SQLite alters tables by copying them
{%- else %}
migrate = Migrate()
{%- endif %}


def engine_options(database_url: str) -> dict[str, Any]:
{%- if cookiecutter.database == "sqlite" %}
    return {"connect_args": {"timeout": CONNECT_TIMEOUT}}
{%- else %}
    # pre_ping drops connections that died while the database was away.
    return {"pool_pre_ping": True, "connect_args": {"connect_timeout": CONNECT_TIMEOUT}}
{%- endif %}
{%- if cookiecutter.database == "sqlite" %}


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
{%- endif %}
