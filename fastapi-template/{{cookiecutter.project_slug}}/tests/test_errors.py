import logging

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.project_slug }}.main import create_app


async def test_unknown_route_is_json_404(client: AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_wrong_method_is_json_405(client: AsyncClient) -> None:
    response = await client.delete("/health")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


async def test_unhandled_error_is_logged_not_shown(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        with caplog.at_level(logging.ERROR):
            response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert "secret internals" not in response.text
    assert "secret internals" in caplog.text
    assert "Traceback" in caplog.text


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
