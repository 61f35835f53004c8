"""Fixtures after Flask's tutorial: ``app``, ``client`` and ``runner``{% if cookiecutter.use_auth %}, and ``auth``{% endif %}."""

from __future__ import annotations

{% if cookiecutter.use_observability and cookiecutter.database != "none" -%}
import os
from collections.abc import Iterator

{% elif cookiecutter.use_observability -%}
import os

{% elif cookiecutter.database != "none" -%}
from collections.abc import Iterator

{% endif -%}
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from {{ cookiecutter.project_slug }} import create_app

from .helpers import {% if cookiecutter.use_auth %}AuthActions, {% endif %}make_config
{%- if cookiecutter.database != "none" %}
from .test_{{ cookiecutter.database }} import make_test_database
from .testdb import migrated, rolled_back


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test database (never the development one), migrated to head once."""
    return migrated(make_test_database(tmp_path_factory))


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """Each test runs inside a transaction that is rolled back."""
    with rolled_back(create_app(make_config(DATABASE_URL=database_url))) as app:
        yield app
{%- else %}


@pytest.fixture
def app() -> Flask:
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
{%- if cookiecutter.use_observability %}


# Whatever the environment or .env says, the tests send nothing to Sentry or a collector,
# and importing the WSGI module (test_config does) opens no metrics port.
os.environ.update(METRICS_PORT="0", SENTRY_DSN="", OTEL_EXPORTER_OTLP_ENDPOINT="")
{%- endif %}
