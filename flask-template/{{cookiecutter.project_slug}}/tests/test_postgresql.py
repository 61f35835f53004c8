"""What the tests check, and how they get a database, because it is PostgreSQL."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, make_url, text

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.config import ConfigError, Settings
from {{ cookiecutter.project_slug }}.extensions import db

from .helpers import make_config
from .testdb import refuse_the_development_database


def make_test_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """TEST_DATABASE_URL when set, else DATABASE_URL's database with ``_test`` appended,
    created when missing."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    development = make_url(Settings.load().database_url)
    test = development.set(database=f"{development.database}_test")
    server = create_engine(development.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": test.database}
        ).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{test.database}"'))
    server.dispose()
    return test.render_as_string(hide_password=False)


@pytest.mark.parametrize(
    "url", ["foo", "oracle://scott@db/orcl", "", "postgresql://user@db:port/name"]
)
def test_a_bad_database_url_is_one_clear_line(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.load({"database_url": url})
    message = str(refused.value)
    assert message.startswith("Invalid settings: DATABASE_URL: expected ")
    assert "postgresql://" in message
    assert "\n" not in message
    assert refused.value.__cause__ is None


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_plain_database_urls_get_the_installed_driver(scheme: str) -> None:
    url = Settings.load({"database_url": f"{scheme}://user@db:1234/name"}).database_url
    assert url == "postgresql+psycopg://user@db:1234/name"


def test_health_with_a_database_that_cannot_be_reached() -> None:
    app = create_app(make_config(DATABASE_URL="postgresql://user@127.0.0.1:1/nowhere"))
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


def test_the_tests_refuse_the_development_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal:5432/app")
    with pytest.raises(pytest.exit.Exception, match="TEST_DATABASE_URL"):
        refuse_the_development_database("postgresql://app@db.internal:5432/app")
    refuse_the_development_database("postgresql://app@db.internal:5432/app_test")


def test_upgrade_says_in_one_line_when_the_database_is_missing(database_url: str) -> None:
    missing = make_url(database_url).set(database="{{ cookiecutter.project_slug }}_never_created")
    app = create_app(make_config(DATABASE_URL=missing.render_as_string(hide_password=False)))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 1
    assert "Cannot connect to the database" in result.output
    assert "{{ cookiecutter.project_slug }}_never_created" in result.output
    assert "Traceback" not in result.output


def test_a_dropped_connection_is_replaced_without_a_failure(database_url: str) -> None:
    """No ping as connections leave the pool: the first statement runs once more instead."""
    app = create_app(make_config(DATABASE_URL=database_url, DATABASE_POOL_SIZE=1))
    with app.app_context():
        pooled = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.remove()  # back to the pool, still open
        with create_engine(db.engine.url).connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:id)"), {"id": pooled})
        assert db.session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pooled
        db.session.remove()
        db.engine.dispose()
