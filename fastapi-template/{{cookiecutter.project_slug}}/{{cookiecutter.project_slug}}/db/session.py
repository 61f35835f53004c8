"""The async engine and the session factory."""

from typing import Any

{% if cookiecutter.database == 'sqlite' -%}
from sqlalchemy import event
{% endif -%}
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: URL | str, **kwargs: Any) -> AsyncEngine:
{%- if cookiecutter.database == 'sqlite' %}
    engine = create_async_engine(url, **kwargs)
    _tune_sqlite(engine)
    return engine
{%- else %}
    # pre_ping replaces connections that died while the database was away.
    return create_async_engine(url, pool_pre_ping=True, **kwargs)
{%- endif %}


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: async code cannot lazy-load them again.
    return async_sessionmaker(engine, expire_on_commit=False)
{%- if cookiecutter.database == 'sqlite' %}


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions start:
        # otherwise SAVEPOINTs (used by the tests' rollback) do not work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")
{%- endif %}
