"""The test database: migrated once per session, each test inside a transaction
that is rolled back, and never the development database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import pytest
from flask import Flask
from flask.cli import load_dotenv
from flask.globals import app_ctx
from sqlalchemy import make_url
from sqlalchemy.orm import scoped_session, sessionmaker

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.config import Settings
from {{ cookiecutter.project_slug }}.extensions import db

from .helpers import make_config

# DATABASE_URL may be set in .env only, as `flask` reads it: the guard below must see it.
load_dotenv()


def refuse_the_development_database(test_url: str) -> None:
    """Stop the run when the test database is DATABASE_URL's: the tests empty it."""
    development = make_url(Settings.load().database_url)
    if make_url(Settings.load({"database_url": test_url}).database_url) == development:
        pytest.exit(
            "The test database is the DATABASE_URL database, which the tests would empty: "
            "point TEST_DATABASE_URL at another database.",
            returncode=4,
        )


def migrated(url: str) -> str:
    """``url`` once ``flask db upgrade`` ran on it (which must work on an empty database)."""
    refuse_the_development_database(url)
    app = create_app(make_config(DATABASE_URL=url))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    return url


@contextmanager
def rolled_back(app: Flask) -> Iterator[Flask]:
    """Every request's session joins one transaction through savepoints; rolling it
    back at the end leaves the database as the test found it."""
    with app.app_context():
        connection = db.engine.connect()
    transaction = connection.begin()
    flask_session = db.session
    factory: sessionmaker[Any] = sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,  # as the app's session (extensions.py)
    )
    db.session = scoped_session(
        factory, scopefunc=lambda: id(cast(Any, app_ctx)._get_current_object())
    )
    try:
        yield app
    finally:
        db.session = flask_session
        transaction.rollback()
        connection.close()
        with app.app_context():
            db.engine.dispose()
