from __future__ import annotations

import logging
import threading
from http.client import HTTPConnection

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.logs import WithoutWerkzeugRequestLines

from .helpers import make_config


def test_unknown_route(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Not Found"}


def test_trailing_slash_is_another_route(client: FlaskClient) -> None:
    response = client.get("/health/")
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
        client.get("/health?api_key=hidden")
    assert any("GET /health 200" in message for message in caplog.messages)
    assert "hidden" not in caplog.text


def test_the_development_server_logs_each_request_once(caplog: pytest.LogCaptureFixture) -> None:
    # A real werkzeug server, as `flask run` starts; the app's own line is the only one.
    app = create_app(make_config())
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    try:
        with caplog.at_level(logging.INFO):
            connection = HTTPConnection("127.0.0.1", server.port, timeout=5)
            connection.request("GET", "/openapi.json")
            assert connection.getresponse().status == 200
            connection.close()
            thread.join(5)
    finally:
        server.server_close()
    request_lines = [record for record in caplog.records if "/openapi.json" in record.getMessage()]
    assert [record.name for record in request_lines] == ["{{ cookiecutter.project_slug }}.request"]


@pytest.mark.parametrize(
    ("message", "level", "kept"),
    [
        ('127.0.0.1 - - [24/Nov/2026 05:00:00] "GET /health HTTP/1.1" 200 -', logging.INFO, False),
        ("127.0.0.1 - - [24/Nov/2026 05:00:00] code 400, message Bad request syntax", logging.ERROR, True),
        (" * Running on http://127.0.0.1:5000", logging.INFO, True),
    ],
)
def test_werkzeug_keeps_all_but_its_request_lines(message: str, level: int, kept: bool) -> None:
    record = logging.LogRecord("werkzeug", level, __file__, 1, message, None, None)
    assert WithoutWerkzeugRequestLines().filter(record) is kept
