"""Fixtures after Flask's tutorial: ``app``, ``client`` and ``runner``.
{%- if cookiecutter.database == "none" %}"""{% else %}

The test database is never the development one: TEST_DATABASE_URL when set,
{%- if cookiecutter.database == "sqlite" %}
else a temporary SQLite file.
{%- else %}
else DATABASE_URL's database with ``_test`` appended (created when missing).
{%- endif %}
The session migrates it to head once with ``flask db upgrade``; each test then
runs inside a transaction that is rolled back.
"""
{%- endif %}

from __future__ import annotations

{% if cookiecutter.database != "none" -%}
import os
{% endif -%}
{% if cookiecutter.database != "none" -%}
from collections.abc import Iterator
from typing import Any, cast

{% endif -%}
import pytest
from flask import Flask
{%- if cookiecutter.database != "none" %}
from flask.globals import app_ctx
{%- endif %}
from flask.testing import FlaskClient, FlaskCliRunner
{%- if cookiecutter.database in ["postgresql", "mysql"] %}
from sqlalchemy import create_engine, make_url, text
{%- endif %}
{%- if cookiecutter.database != "none" %}
from sqlalchemy.orm import scoped_session, sessionmaker
{%- endif %}

from {{ cookiecutter.project_slug }} import create_app
{%- if cookiecutter.database in ["postgresql", "mysql"] %}
from {{ cookiecutter.project_slug }}.config import Settings
{%- endif %}
{%- if cookiecutter.database != "none" %}
from {{ cookiecutter.project_slug }}.extensions import db
{%- endif %}

from .helpers import {% if cookiecutter.use_auth %}AuthActions, {% endif %}make_config{% if cookiecutter.database != "none" %}, refuse_the_development_database{% endif %}

{%- if cookiecutter.database != "none" %}


def _test_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
{%- if cookiecutter.database == "sqlite" %}
    return f"sqlite:///{tmp_path_factory.mktemp('database') / 'test.db'}"
{%- else %}
    development = make_url(Settings.load().database_url)
    test = development.set(database=f"{development.database}_test")
    server = create_engine(development.set(database={% if cookiecutter.database == "postgresql" %}"postgres"{% else %}"information_schema"{% endif %}), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
{%- if cookiecutter.database == "postgresql" %}
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": test.database}
        ).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{test.database}"'))
{%- else %}
        connection.execute(text(f"CREATE DATABASE IF NOT EXISTS `{test.database}`"))
{%- endif %}
    server.dispose()
    return test.render_as_string(hide_password=False)
{%- endif %}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The migrated test database: ``flask db upgrade`` on an empty database must work."""
    url = _test_database_url(tmp_path_factory)
    refuse_the_development_database(url)
    app = create_app(make_config(DATABASE_URL=url))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    return url
{%- endif %}


@pytest.fixture
def app({% if cookiecutter.database != "none" %}database_url: str{% endif %}) -> {% if cookiecutter.database != "none" %}Iterator[Flask]{% else %}Flask{% endif %}:
{%- if cookiecutter.database != "none" %}
    app = create_app(make_config(DATABASE_URL=database_url))
    with app.app_context():
        connection = db.engine.connect()
    transaction = connection.begin()
    flask_session = db.session
    # Every request's session joins this transaction through savepoints; rolling it
    # back at the end leaves the database as the test found it.
    factory: sessionmaker[Any] = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    db.session = scoped_session(factory, scopefunc=lambda: id(cast(Any, app_ctx)._get_current_object()))
    try:
        yield app
    finally:
        db.session = flask_session
        transaction.rollback()
        connection.close()
        with app.app_context():
            db.engine.dispose()
{%- else %}
    return create_app(make_config())
{%- endif %}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
{%- if cookiecutter.use_auth %}


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
{%- endif %}
