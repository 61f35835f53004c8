from __future__ import annotations
{% if cookiecutter.database != "none" %}
from typing import Any, NoReturn

import pytest
{%- endif %}
from flask import Flask
from flask.testing import FlaskClient
{%- if cookiecutter.database != "none" %}
from sqlalchemy.exc import OperationalError

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.extensions import db

from .helpers import make_config
{%- endif %}


def test_health(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"{% if cookiecutter.database != "none" %}, "database": "ok"{% endif %}}


def test_health_is_get_only(app: Flask, client: FlaskClient) -> None:
    response = client.post("/health")
    assert response.status_code == 405
    assert response.get_json() == {"detail": "Method Not Allowed"}
{%- if cookiecutter.database != "none" %}


def test_health_answers_503_while_the_database_is_away_and_200_once_back(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*args: Any, **kwargs: Any) -> NoReturn:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", unreachable)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}

    monkeypatch.undo()
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_with_a_database_that_cannot_be_reached(tmp_path: Any) -> None:
{%- if cookiecutter.database == "sqlite" %}
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'app.db'}"
{%- elif cookiecutter.database == "postgresql" %}
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
{%- else %}
    url = "mysql://root@127.0.0.1:1/nowhere"
{%- endif %}
    app = create_app(make_config(DATABASE_URL=url))
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
{%- endif %}
