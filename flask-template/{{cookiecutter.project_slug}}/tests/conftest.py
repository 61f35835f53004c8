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
{% endif -%}
from typing import Any{% if cookiecutter.database != "none" %}, cast{% endif %}

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

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"


def make_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "ENVIRONMENT": "test",
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        "CORS_ORIGINS": [],
        "LOG_LEVEL": "INFO",
{%- if cookiecutter.use_auth %}
        "ACCESS_TOKEN_EXPIRE_MINUTES": 30,
        # Cheap Argon2 for speed; production keeps the library's defaults.
        "PASSWORD_HASH_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
{%- endif %}
    }
    config.update(overrides)
    return config
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


class AuthActions:
    """Register users and get their tokens through the API."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(self, email: str = "ada@example.com", password: str = "correct horse") -> dict[str, Any]:
        response = self.client.post("/api/v1/auth/register", json={"email": email, "password": password})
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def token(self, email: str = "ada@example.com", password: str = "correct horse") -> str:
        response = self.client.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert response.status_code == 200, response.get_json()
        access_token: str = response.get_json()["access_token"]
        return access_token

    def headers(self, email: str = "ada@example.com", password: str = "correct horse") -> dict[str, str]:
        """A new user's bearer header."""
        self.register(email, password)
        return {"Authorization": f"Bearer {self.token(email, password)}"}


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
{%- endif %}
