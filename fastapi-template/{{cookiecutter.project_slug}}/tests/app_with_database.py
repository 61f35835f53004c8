"""The test database: never the development one.

The suite runs on TEST_DATABASE_URL when set, else on a database of its own (see
`database_url`). The schema is built once per run by the migrations themselves, and every
test runs in a transaction that is rolled back, so tests never see each other's rows.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from {{ 'database_file' if cookiecutter.database == 'sqlite' else 'database_server' }} import create_database_if_missing, database_url
from fastapi import FastAPI
from helpers import make_settings
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.db.session import create_engine
from {{ cookiecutter.project_slug }}.main import create_app

PROJECT_ROOT = Path(__file__).resolve().parents[1]

__all__ = ["app", "connection", "database_url", "engine", "sessionmaker", "settings"]


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url)


def alembic_config(connection: Connection) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    # env.py runs on this connection instead of opening its own.
    config.attributes["connection"] = connection
    return config


def migrate_from_scratch(connection: Connection) -> None:
    config = alembic_config(connection)
    command.downgrade(config, "base")
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    await create_database_if_missing(settings.async_database_url)
    engine = create_engine(settings.async_database_url)
    # The migrations build the schema: this is the proof that `upgrade head` works.
    async with engine.begin() as connection:
        await connection.run_sync(migrate_from_scratch)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Each session's commit only releases a SAVEPOINT inside the test's transaction.
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    # Reads too: every request's statements stay inside the test's transaction.
    app.state.sessionmaker = app.state.read_sessionmaker = sessionmaker
    yield app
    await app.state.engine.dispose()
