from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient


def test_unknown_route(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Not Found"}


def test_wrong_method_keeps_allow_header(client: FlaskClient) -> None:
    response = client.delete("/health")
    assert response.status_code == 405
    assert response.get_json() == {"detail": "Method Not Allowed"}
    assert "GET" in response.headers["Allow"]


def test_options_without_cors_is_not_allowed(client: FlaskClient) -> None:
    response = client.options("/health")
    assert response.status_code == 405


def test_unhandled_error_hides_the_traceback(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    def boom() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", view_func=boom)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == {"detail": "Internal Server Error"}
    assert "secret internals" not in response.get_data(as_text=True)
    assert "secret internals" in caplog.text


def test_requests_are_logged(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="{{ cookiecutter.project_slug }}.request"):
        client.get("/health?token=hidden")
    assert any("GET /health 200" in message for message in caplog.messages)
    assert "hidden" not in caplog.text
