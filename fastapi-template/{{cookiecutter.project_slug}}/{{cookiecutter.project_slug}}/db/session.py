"""The async engine and the session factory."""

from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.db import {{ cookiecutter.database }} as dialect


def create_engine(url: URL | str, *, timeout: float | None = None, **kwargs: Any) -> AsyncEngine:
    """An engine whose every wait on the database ends after `timeout` seconds.

    No `timeout` (migrations, test set-up) bounds connecting only. SQL parameters never
    appear in errors or logs: they can hold personal data and secrets.
    """
    engine = create_async_engine(
        url, hide_parameters=True, **dialect.engine_options(timeout), **kwargs
    )
    dialect.prepare(engine)
    return engine


def create_service_engine(settings: Settings) -> AsyncEngine:
    """The service's engine: its pool and timeouts from the settings."""
    return create_engine(
        settings.async_database_url,
        timeout=settings.database_timeout,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        pool_recycle=settings.database_pool_recycle,
        # Off by default: a ping costs a round trip on every checkout. A connection the server
        # dropped (restart, idle cut-off) fails its request with a 503 instead, and SQLAlchemy
        # then replaces every connection of the pool that is older than the failure.
        pool_pre_ping=settings.database_pool_pre_ping,
    )


def create_sessionmaker(
    engine: AsyncEngine, *, reads_only: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; `reads_only`: for requests that only read, with no transaction
    around their statements where the database allows it (see `READ_OPTIONS`)."""
    if reads_only:
        engine = engine.execution_options(**dialect.READ_OPTIONS)
    # Objects stay readable after commit: async code cannot lazy-load them again.
    return async_sessionmaker(engine, expire_on_commit=False)
