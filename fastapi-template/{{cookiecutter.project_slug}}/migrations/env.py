"""Alembic environment: runs migrations on the project's async engine and settings."""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from {{ cookiecutter.project_slug }}.core.config import get_settings_or_exit
from {{ cookiecutter.project_slug }}.db.models import Base
from {{ cookiecutter.project_slug }}.db.session import create_engine

config = context.config
# A caller that hands over its own connection (the tests) keeps its own logging too.
shared_connection: Connection | None = config.attributes.get("connection")
if config.config_file_name is not None and shared_connection is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
{%- if cookiecutter.database == 'sqlite' %}
        # SQLite cannot ALTER most things in place; batch mode recreates the table.
        render_as_batch=True,
{%- endif %}
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_engine(get_settings_or_exit().async_database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings_or_exit().async_database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif shared_connection is not None:
    run_migrations(shared_connection)
else:
    asyncio.run(run_migrations_online())
