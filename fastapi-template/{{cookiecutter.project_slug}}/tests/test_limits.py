"""What holds on every route: docs/api.md, "Limits and failures"."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Request
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel, Field
from starlette.types import Message

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.main import create_app

LIMIT = 16
TOO_LARGE = {"detail": "Request body too large"}
UNPARSABLE = {"detail": "There was an error parsing the body"}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
JSON = {"Content-Type": "application/json"}


class Thing(BaseModel):
    name: Annotated[str, Field(max_length=100)]


def add_test_routes(app: FastAPI) -> None:
    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.post("/things")
    async def things(thing: Thing) -> Thing:
        return thing

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[AsyncClient]:
    """A client of the app with a body limit of LIMIT bytes and a few routes of its own."""
    app = create_app(settings.model_copy(update={"max_body_bytes": LIMIT}))
    add_test_routes(app)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_a_body_at_the_limit_is_read(small: AsyncClient) -> None:
    response = await small.post("/echo", content=b"x" * LIMIT)
    assert response.status_code == 200
    assert response.json() == {"received": LIMIT}


async def test_a_declared_length_over_the_limit_is_refused_unread(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": LIMIT}))
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("the body was read")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/echo",
        "headers": [(b"content-length", str(LIMIT + 1).encode())],
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == TOO_LARGE
    assert (b"x-content-type-options", b"nosniff") in sent[0]["headers"]


async def test_a_streamed_body_over_the_limit_stops_being_read(small: AsyncClient) -> None:
    pulled = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(100):
            pulled += 1
            yield b"x" * 10

    # No Content-Length: the limit applies while the body arrives.
    response = await small.post("/echo", content=chunks())
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert pulled < 100


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "caf\xe9"}',  # Latin-1, not UTF-8
        b"[" * 100_000 + b"]" * 100_000,  # nested deeper than the parser goes
    ],
    ids=["invalid-utf8", "too-deep"],
)
async def test_an_undecodable_body_is_400(client: AsyncClient, app: FastAPI, body: bytes) -> None:
    add_test_routes(app)
    response = await client.post("/things", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json() == UNPARSABLE


async def test_an_unpaired_surrogate_is_422_and_echoed(client: AsyncClient, app: FastAPI) -> None:
    add_test_routes(app)
    response = await client.post("/things", content=b'{"name": "a\\ud800"}', headers=JSON)
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert (error["type"], error["loc"]) == ("string_unicode", ["body", "name"])
    assert error["input"] == "a\ud800"


@pytest.mark.parametrize(
    ("method", "path", "send", "status"),
    [
        ("GET", "/health", {}, 200),
        ("GET", "/nowhere", {}, 404),
        ("DELETE", "/health", {}, 405),
        ("POST", "/echo", {"content": b"x" * (LIMIT + 1)}, 413),
        ("POST", "/things", {"json": {}}, 422),
        ("GET", "/boom", {}, 500),
    ],
)
async def test_every_answer_carries_the_security_headers(
    small: AsyncClient, method: str, path: str, send: dict[str, Any], status: int
) -> None:
    response = await small.request(method, path, **send)
    assert response.status_code == status
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    assert "server" not in response.headers


async def test_a_body_slower_than_the_timeout_is_a_408(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"body_timeout": 0.2}))
    add_test_routes(app)

    async def trickle() -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0.05)
            yield b" "

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/echo", content=trickle())
    assert response.status_code == 408
    assert response.json() == {"detail": "Request Timeout"}
    assert response.headers["connection"] == "close"
