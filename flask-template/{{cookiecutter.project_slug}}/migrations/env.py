"""Alembic's entry point, run by ``flask db``: migrations use the app's database and models."""

from __future__ import annotations

import logging
from typing import Any

from alembic import context
from flask import current_app
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from {{ cookiecutter.project_slug }}.{{ cookiecutter.database }} import MISSING_DATABASE_HINT

logger = logging.getLogger("alembic.env")
# Show which migrations ran; the app configured the handlers already.
logging.getLogger("alembic").setLevel(logging.INFO)

migrate_extension = current_app.extensions["migrate"]
target_metadata = migrate_extension.db.metadata


def skip_empty_autogenerate(migration_context: Any, revision: Any, directives: list[Any]) -> None:
    # `flask db migrate` with no model change should not write an empty file.
    if (
        getattr(context.config.cmd_opts, "autogenerate", False)
        and directives[0].upgrade_ops.is_empty()
    ):
        directives[:] = []
        logger.info("No changes in the models: no migration written.")


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
            process_revision_directives=skip_empty_autogenerate,
            **migrate_extension.configure_args,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
