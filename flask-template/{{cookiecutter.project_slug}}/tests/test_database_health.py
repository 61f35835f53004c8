"""/health while the database is away, and once it is back."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from {{ cookiecutter.project_slug }}.extensions import db


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
