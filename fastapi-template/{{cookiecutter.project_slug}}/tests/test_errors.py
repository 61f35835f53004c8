import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from starlette.types import Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }}.core.logging import (
    TEXT_FORMAT,
    ContextFilter,
    JsonFormatter,
    RequestLog,
    ThroughAppHandlers,
    request_log,
)
from {{ cookiecutter.project_slug }}.core.middleware import ServiceMiddleware
from {{ cookiecutter.project_slug }}.main import create_app


async def test_unknown_route_is_json_404(client: AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_wrong_method_is_json_405(client: AsyncClient) -> None:
    response = await client.delete("/health")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert response.headers["allow"] == "GET"


async def test_405_allows_every_method_of_the_path(app: FastAPI, client: AsyncClient) -> None:
    @app.get("/thing")
    async def read_thing() -> None:
        return None

    @app.post("/thing")
    async def write_thing() -> None:
        return None

    response = await client.put("/thing")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_trailing_slash_is_not_redirected(client: AsyncClient) -> None:
    response = await client.get("/health/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_unhandled_error_is_logged_once_not_shown(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("hidden internals")

    # The transport re-raises whatever escapes the app: nothing must, or the server
    # would log the traceback a second time.
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        with caplog.at_level(logging.ERROR):
            response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert "hidden internals" not in response.text
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert len(tracebacks) == 1
    assert "hidden internals" in caplog.text


async def test_error_after_the_response_started_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def half_answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("mid-stream")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    scope: Scope = {"type": "http", "method": "GET", "path": "/stream", "headers": []}
    with caplog.at_level(logging.ERROR):
        await ServiceMiddleware(half_answer, max_body_bytes=0)(scope, receive, send)
    # Too late for a 500: the status is out, so the server just ends the response.
    assert [message["type"] for message in sent] == ["http.response.start"]
    assert len([record for record in caplog.records if record.exc_info]) == 1


def test_server_records_are_handed_to_the_app_handlers(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.makeLogRecord(
        {"name": "uvicorn.error", "levelno": logging.WARNING, "levelname": "WARNING", "msg": "hi"}
    )
    with caplog.at_level(logging.INFO):
        # False: the server's own handlers, if any, do not print it a second time.
        assert ThroughAppHandlers().filter(record) is False
    assert caplog.records == [record]


SERVER_CONFIG = "logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)"
IMPORT_APP = "import {{ cookiecutter.project_slug }}.main"


def server_script(*steps: str) -> list[str]:
    script = ";".join(
        [
            "import logging, logging.config, uvicorn.config",
            *steps,
            "logging.getLogger('uvicorn.error').info('server line')",
            "logging.getLogger('uvicorn').warning('parent line')",
        ]
    )
    return [sys.executable, "-c", script]


def test_server_lines_come_out_through_the_app_handler() -> None:
    # `uvicorn` configures its logging, then imports the app; `fastapi run` imports the app
    # first. Each order in a fresh interpreter, both at once.
    environ = {**os.environ, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "ENVIRONMENT": "test"}
    orders = {
        "server first": server_script(SERVER_CONFIG, IMPORT_APP),
        "app first": server_script(IMPORT_APP, SERVER_CONFIG),
    }
    running = {
        order: subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed script
            command,
            cwd=Path(__file__).resolve().parents[1],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for order, command in orders.items()
    }
    for order, process in running.items():
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, f"{order}: {stderr}"
        # Only the log lines: a first run in a fresh environment compiles every module, and
        # Python may print a library's warning while it does.
        print(order, stderr)
        lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        by_logger = {line["logger"]: line["message"] for line in lines}
        assert by_logger.get("uvicorn.error") == "server line", order
        assert by_logger.get("uvicorn") == "parent line", order


async def test_one_log_line_per_request(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="{{ cookiecutter.project_slug }}.request"):
        await client.get("/health", headers={"Authorization": "Bearer do-not-log-me"})
    lines = [r for r in caplog.records if r.name == "{{ cookiecutter.project_slug }}.request"]
    assert len(lines) == 1
    message = lines[0].getMessage()
    assert message.startswith("GET /health 200 ")
    assert message.endswith("ms")
    assert "do-not-log-me" not in caplog.text


async def test_cors_allows_configured_origins_only(app: FastAPI) -> None:
    settings = app.state.settings.model_copy(update={"cors_origins": ["https://app.example"]})
    cors_app = create_app(settings)
    transport = ASGITransport(app=cors_app)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        allowed = await client.get("/health", headers={"Origin": "https://app.example"})
        other = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers
{%- if cookiecutter.database != 'none' %}
    await cors_app.state.engine.dispose()
{%- endif %}


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_request_line_is_written_as_the_console_handler_would(
    monkeypatch: pytest.MonkeyPatch, log_format: str
) -> None:
    stream = io.StringIO()
    console = logging.StreamHandler(stream)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    console.setFormatter(formatter)
    console.addFilter(ContextFilter())
    log = RequestLog(request_log.logger.name)
    log.console, log.as_json = console, log_format == "json"
    # The console handler alone on the root logger: the line is written directly.
    monkeypatch.setattr(logging.getLogger(), "handlers", [console])
    level = log.logger.level
    log.logger.setLevel(logging.INFO)
    try:
        log("GET", "/health", 200, 0.4)
    finally:
        log.logger.setLevel(level)
    direct = stream.getvalue()
    record = logging.LogRecord(
        log.logger.name, logging.INFO, "", 0, "GET /health 200 0.4ms", None, None
    )
    record.method, record.path, record.status, record.duration_ms = "GET", "/health", 200, 0.4
    assert console.filter(record)
    expected = formatter.format(record) + "\n"
    if log_format == "json":
        written, wanted = json.loads(direct), json.loads(expected)
        assert written.keys() == wanted.keys()
        assert {k: v for k, v in written.items() if k != "time"} == {
            k: v for k, v in wanted.items() if k != "time"
        }
    else:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", direct[:24])
        assert direct[24:] == expected[24:]
