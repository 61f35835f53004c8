from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

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
