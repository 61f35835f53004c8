"""The migrations build the schema the models describe."""

from __future__ import annotations
{%- if cookiecutter.database == "sqlite" %}

from pathlib import Path
{%- endif %}

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import inspect{% if cookiecutter.database != "sqlite" %}, make_url{% endif %}

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.extensions import db

from .helpers import make_config, refuse_the_development_database

TABLES = {"alembic_version", "items"{% if cookiecutter.use_auth %}, "users"{% endif %}}


def test_migrations_match_the_models(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_downgrade_to_base_and_upgrade_again(app: Flask, runner: FlaskCliRunner) -> None:
    # Uses its own connections, outside the test transaction: the schema ends where it began.
    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}

    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert set(inspect(db.engine).get_table_names()) == TABLES


def test_the_tests_refuse_the_development_database(monkeypatch: pytest.MonkeyPatch) -> None:
{%- if cookiecutter.database == "sqlite" %}
    monkeypatch.setenv("DATABASE_URL", "sqlite:////srv/app/dev.db")
    same, other = "sqlite:////srv/app/dev.db", "sqlite:////srv/app/dev_test.db"
{%- elif cookiecutter.database == "postgresql" %}
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal:5432/app")
    same, other = "postgres://app@db.internal:5432/app", "postgresql://app@db.internal:5432/app_test"
{%- else %}
    monkeypatch.setenv("DATABASE_URL", "mysql://app@db.internal:3306/app")
    same, other = "mariadb://app@db.internal:3306/app", "mysql://app@db.internal:3306/app_test"
{%- endif %}
    with pytest.raises(pytest.exit.Exception, match="TEST_DATABASE_URL"):
        refuse_the_development_database(same)
    refuse_the_development_database(other)


def test_upgrade_says_in_one_line_when_the_database_is_missing({% if cookiecutter.database == "sqlite" %}tmp_path: Path{% else %}database_url: str{% endif %}) -> None:
{%- if cookiecutter.database == "sqlite" %}
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'app.db'}"
{%- else %}
    url = make_url(database_url).set(database="{{ cookiecutter.project_slug }}_never_created").render_as_string(False)
{%- endif %}
    result = create_app(make_config(DATABASE_URL=url)).test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 1
    assert "Cannot connect to the database" in result.output
{%- if cookiecutter.database != "sqlite" %}
    assert "{{ cookiecutter.project_slug }}_never_created" in result.output
{%- endif %}
    assert "Traceback" not in result.output
