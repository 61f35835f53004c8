"""Alembic environment: runs migrations on the project's async engine and settings."""

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.operations.ops import MigrationScript
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from {{ cookiecutter.project_slug }}.core.config import get_settings_or_exit
from {{ cookiecutter.project_slug }}.db.models import Base
from {{ cookiecutter.project_slug }}.db.session import create_engine

config = context.config
# A caller that hands over its own connection (the tests) keeps its own logging too.
shared_connection: Connection | None = config.attributes.get("connection")
if config.config_file_name is not None and shared_connection is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """A column of a project type (db/types.py's UTCDateTime) goes into a new migration as
    the database type it is stored in, as in 0001_initial.py: the migration then needs no
    import of the project, and the rule the type adds (UTC in and out) stays in Python."""
    dialect = autogen_context.dialect
    if kind != "type" or not isinstance(obj, TypeDecorator) or dialect is None:
        return False
    stored = obj.load_dialect_impl(dialect)
    if type(stored) is type(dialect.type_descriptor(obj.impl_instance)):
        stored = obj.impl_instance  # no type of the database's own: the portable one
    module = type(stored).__module__
    if module.startswith("sqlalchemy.dialects."):
        name = module.split(".")[2]
        autogen_context.imports.add(f"from sqlalchemy.dialects import {name}")
        return f"{name}.{stored!r}"
    return f"sa.{stored!r}"


def number_the_revision(_context: Any, _revision: Any, directives: list[MigrationScript]) -> None:
    """Revision ids count up from the newest (0001_initial.py, then 0002, ...), so the
    files of migrations/versions/ sort in the order they run; `--rev-id` still wins."""
    if not directives or getattr(config.cmd_opts, "rev_id", None):
        return
    heads = ScriptDirectory.from_config(config).get_heads()
    newest = max((int(head) for head in heads if head.isdigit()), default=0)
    directives[0].rev_id = f"{newest + 1:04d}"


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        process_revision_directives=number_the_revision,
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
