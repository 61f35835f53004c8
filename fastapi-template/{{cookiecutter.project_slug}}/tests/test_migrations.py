from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from app_with_database import alembic_config
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from {{ cookiecutter.project_slug }}.db.models import Base

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def test_models_match_the_migrations(connection: AsyncConnection) -> None:
    # Non-empty means a model changed without `alembic revision --autogenerate`.
    assert await connection.run_sync(differences) == []


async def test_database_is_at_the_single_head(connection: AsyncConnection) -> None:
    script = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    assert await connection.run_sync(current_revision) == script.get_current_head()


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_downgrade_to_base_and_upgrade_again(engine: AsyncEngine) -> None:
    # Its own connection, outside the tests' rolled-back transactions: the schema ends as it
    # began. The suite's start downgrades an existing test database the same way, so a
    # second `pytest` depends on this working.
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "base"))
        assert await connection.run_sync(table_names) == {"alembic_version"}
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
        assert await connection.run_sync(table_names) == {"alembic_version", *Base.metadata.tables}
