"""Errors, and what holds on every route (docs/api.md, "Errors" and "Limits and failures")."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import BaseModel, ConfigDict
from werkzeug.serving import make_server

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.logs import WithoutWerkzeugRequestLines

from .helpers import make_config

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class Note(BaseModel):
    # As the API's input models: a body that is not an object is `model_attributes_type`.
    model_config = ConfigDict(from_attributes=True)

    text: str


@pytest.fixture
def echo() -> FlaskClient:
    """An app with one more route that reads a JSON body, as the API's routes do."""
    app = create_app(make_config())

    @app.post("/echo")
    def echo(body: Note) -> dict[str, str]:
        return body.model_dump()

    return app.test_client()


def test_unknown_route(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Not Found"}


def test_trailing_slash_is_another_route(client: FlaskClient) -> None:
    response = client.get("/health/")
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Not Found"}


def test_wrong_method_lists_every_method_of_the_path(client: FlaskClient) -> None:
    response = client.delete("/health")
    assert response.status_code == 405
    assert response.get_json() == {"detail": "Method Not Allowed"}
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}


def test_options_without_cors_is_not_allowed(client: FlaskClient) -> None:
    assert client.options("/health").status_code == 405


@pytest.mark.parametrize("path", ["/health", "/nowhere", "/openapi.json"])
def test_every_answer_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    assert "Server" not in response.headers


def test_a_body_over_the_limit_is_refused_unread() -> None:
    app = create_app(make_config(MAX_BODY_BYTES=1024))
    assert app.config["MAX_CONTENT_LENGTH"] == 1024

    @app.post("/echo")
    def echo(body: Note) -> dict[str, str]:
        raise AssertionError("not reached")

    body = b'{"text": "' + b"x" * 2000 + b'"}'
    response = app.test_client().post("/echo", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"detail": "Request body too large"}


def test_a_chunked_body_over_the_limit_is_refused() -> None:
    """No Content-Length: the bytes are counted as they arrive (Flask's limit would only cut
    the body short, and a valid document padded with spaces would pass)."""
    app = create_app(make_config(MAX_BODY_BYTES=1024))

    @app.post("/echo")
    def echo(body: Note) -> dict[str, str]:
        raise AssertionError("not reached")

    for body in (b'{"text": "' + b"x" * 2000 + b'"}', b'{"text": "padded"}' + b" " * 2000):
        response = app.test_client().post(
            "/echo",
            input_stream=io.BytesIO(body),
            headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert response.get_json() == {"detail": "Request body too large"}


def test_a_chunked_body_within_the_limit_is_read(echo: FlaskClient) -> None:
    response = echo.post(
        "/echo",
        input_stream=io.BytesIO(b'{"text": "chunked"}'),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.get_json() == {"text": "chunked"}


@pytest.mark.parametrize(
    "body",
    [b'{"name": "\xff"}', b"[" * 1000 + b"]" * 1000, b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"],
    ids=["invalid UTF-8", "nested 1000 deep", "nested 5000 deep"],
)
def test_an_undecodable_body_is_a_400(echo: FlaskClient, body: bytes) -> None:
    response = echo.post("/echo", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"detail": "There was an error parsing the body"}


def test_malformed_json_is_a_422_at_the_body(echo: FlaskClient) -> None:
    response = echo.post("/echo", data='{"text": ', content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["detail"] == [
        {
            "type": "json_invalid",
            "loc": ["body", 9],
            "msg": "JSON decode error",
            "ctx": {"error": "Expecting value"},
        }
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (
            b'{"text": 5}',
            "application/json",
            {
                "type": "string_type",
                "loc": ["body", "text"],
                "msg": "Input should be a valid string",
            },
        ),
        (b"", "application/json", {"type": "missing", "loc": ["body"], "msg": "Field required"}),
        (
            b"null",
            "application/json",
            {"type": "missing", "loc": ["body"], "msg": "Field required"},
        ),
        (
            b"text=x",
            "text/plain",
            {"type": "model_attributes_type", "loc": ["body"], "msg": ANY},
        ),
    ],
    ids=["wrong type", "no body", "null", "not JSON"],
)
def test_invalid_input_is_a_422_with_its_location(
    echo: FlaskClient, body: bytes, content_type: str, error: dict[str, Any]
) -> None:
    response = echo.post("/echo", data=body, content_type=content_type)
    assert response.status_code == 422
    [item] = response.get_json()["detail"]
    assert {key: item[key] for key in error} == error


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


# A fresh interpreter: logging is configured once per process, as in each server worker.
JSON_LOG_SCRIPT = """
import json, sys
from {{ cookiecutter.project_slug }} import create_app
from tests.helpers import make_config
app = create_app(make_config(LOG_FORMAT="json", **json.loads(sys.argv[1])))
app.test_client().get("/health?api_key=hidden", headers={"Authorization": "Bearer hidden"})
app.logger.warning("an app line")
"""


def test_log_format_json_writes_one_object_per_line(app: Flask) -> None:
    # The test app's addresses (its test database, if it has one), nothing else of its settings.
    settings = app.config["SETTINGS"].model_dump()
    overrides = {k.upper(): str(v) for k, v in settings.items() if k.endswith("_url") and v}
    completed = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", JSON_LOG_SCRIPT, json.dumps(overrides)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    lines = [json.loads(line) for line in completed.stderr.splitlines()]
    by_logger = {line["logger"]: line for line in lines}
    request = by_logger["{{ cookiecutter.project_slug }}.request"]
    assert request["message"].startswith("GET /health 200 ")
    assert (request["method"], request["path"], request["status"]) == ("GET", "/health", 200)
    assert isinstance(request["duration_ms"], float)
    assert by_logger["{{ cookiecutter.project_slug }}"]["message"] == "an app line"
    assert "hidden" not in completed.stderr


def test_the_development_server_logs_each_request_once(caplog: pytest.LogCaptureFixture) -> None:
    # A real werkzeug server, as `flask run` starts; the app's own line is the only one.
    server = make_server("127.0.0.1", 0, create_app(make_config()))
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
        ("127.0.0.1 - - [24/Nov/2026 05:00:00] code 400, message Bad request", logging.ERROR, True),
        (" * Running on http://127.0.0.1:5000", logging.INFO, True),
    ],
)
def test_werkzeug_keeps_all_but_its_request_lines(message: str, level: int, kept: bool) -> None:
    record = logging.LogRecord("werkzeug", level, __file__, 1, message, None, None)
    assert WithoutWerkzeugRequestLines().filter(record) is kept
