"""Alembic's entry point, run by ``flask db``: migrations use the app's database and models."""

from __future__ import annotations

import logging
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import Connection, Engine, TypeDecorator
from sqlalchemy.exc import OperationalError

from {{ cookiecutter.project_slug }}.{{ cookiecutter.database }} import MISSING_DATABASE_HINT

logger = logging.getLogger("alembic.env")
# Show which migrations ran; the app configured the handlers already.
logging.getLogger("alembic").setLevel(logging.INFO)

migrate_extension = current_app.extensions["migrate"]
target_metadata = migrate_extension.db.metadata


def prepare_revision(migration_context: Any, revision: Any, directives: list[Any]) -> None:
    """`flask db migrate` with no model change writes no empty file; the others are numbered
    in order after the newest (0001_initial.py, then 0002, ...), so the files sort in the
    order they run (`--rev-id` still wins)."""
    if not directives:
        return
    options = context.config.cmd_opts
    if getattr(options, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in the models: no migration written.")
        return
    if not getattr(options, "rev_id", None):
        heads = ScriptDirectory.from_config(context.config).get_heads()
        newest = max((int(head) for head in heads if head.isdigit()), default=0)
        directives[0].rev_id = f"{newest + 1:04d}"


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """A column of a project type (models.py's UTCDateTime) goes into a new migration as the
    database type it is stored in, as in 0001_initial.py: the migration then needs no import
    of the project, and the rule the type adds (UTC in and out) stays in Python."""
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


def run_migrations_offline() -> None:
    context.configure(
        url=migrate_extension.db.engine.url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        **migrate_extension.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def connect() -> Connection:
    engine: Engine = migrate_extension.db.engine
    try:
        return engine.connect()
    except OperationalError as error:
        # One line instead of a driver traceback; the usual cause is a database never created.
        reason = " ".join(str(error.orig).split())
        raise SystemExit(
            f"Cannot connect to the database {engine.url.render_as_string(hide_password=True)} "
            f"({reason}). {MISSING_DATABASE_HINT.format(database=engine.url.database)}"
        ) from None


def run_migrations_online() -> None:
    with connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            process_revision_directives=prepare_revision,
            render_item=render_item,
            **migrate_extension.configure_args,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
