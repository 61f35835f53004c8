"""/health while the database is away, and once it is back; one probe a second at most."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, NoReturn

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from {{ cookiecutter.project_slug }} import health
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
    # The last probe's answer stands for up to a second: ask until it is renewed.
    for _ in range(100):
        response = client.get("/health")
        if response.status_code == 200:
            break
        time.sleep(0.1)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_calls_within_a_second_share_one_probe(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    # The view's clock stands still until the test moves it.
    monkeypatch.setattr(health, "time", SimpleNamespace(monotonic=lambda: now[0]), raising=False)
    probes: list[str] = []
    execute = db.session.execute

    def counted(statement: Any, *args: Any, **kwargs: Any) -> Any:
        probes.append(str(statement))
        return execute(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "execute", counted)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: app.test_client().get("/health").status_code, range(20)))
    answers.append(client.get("/health").status_code)
    assert answers == [200] * 21
    assert probes == ["SELECT 1"]

    now[0] += 1.0
    assert client.get("/health").get_json() == {"status": "ok", "database": "ok"}
    assert probes == ["SELECT 1", "SELECT 1"]
