"""Registration writes the welcome email's outbox row in the user's transaction, and
publishes the job after the response; a broker that is down costs the request nothing."""

import logging
import time
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from smtp_server import free_port
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.project_slug }}.api import outbox as api_outbox
from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.db.models import OutboxMessage, User
from {{ cookiecutter.project_slug }}.main import create_app
from {{ cookiecutter.project_slug }}.worker.app import PUBLISH_TIMEOUT, SEND_WELCOME_EMAIL

REGISTER = "/api/v1/auth/register"
PASSWORD = "correct-horse"


async def outbox_rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def user_count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_registration_commits_the_welcome_email_with_the_user(
    client: AsyncClient, app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # The in-memory broker is shared by the whole test run: start from an empty queue.
    with api_outbox.publisher_for(app).connection_for_read() as connection:
        queue = connection.SimpleQueue("celery")
        queue.clear()
        response = await client.post(
            REGISTER, json={"email": "Ann@Example.com", "password": PASSWORD}
        )
        assert response.status_code == 201
        # Published after the response: the job is on the broker's queue.
        message = queue.get(timeout=1)
        message.ack()
        queue.close()
    user = response.json()
    (row,) = await outbox_rows(sessionmaker)
    assert row.kind == "welcome_email"
    assert row.payload == {"user_id": user["id"], "email": "ann@example.com"}
    assert (row.sent_at, row.attempts, row.last_error) == (None, 0, None)
    assert message.headers["task"] == SEND_WELCOME_EMAIL
    assert message.headers["argsrepr"] == f"({row.id},)"


async def test_a_failed_registration_leaves_no_job(
    client: AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published: list[int] = []
    monkeypatch.setattr(api_outbox, "publish", lambda *args: published.append(args[-1]))
    users_before = await user_count(sessionmaker)

    def fail(*_: object) -> None:
        raise RuntimeError("after both rows were written")

    # Both rows are flushed; then the route fails, and its transaction rolls back.
    monkeypatch.setattr("{{ cookiecutter.project_slug }}.api.routes.auth.UserRead.model_validate", fail)
    response = await client.post(REGISTER, json={"email": "bo@example.com", "password": PASSWORD})
    assert response.status_code == 500
    assert await outbox_rows(sessionmaker) == []
    assert await user_count(sessionmaker) == users_before
    assert published == []


@pytest.fixture
async def app_with_broker_down(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    # Nothing listens on this port.
    down = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    app = create_app(down)
    app.state.sessionmaker = app.state.read_sessionmaker = sessionmaker
    yield app
    await app.state.engine.dispose()


async def test_with_the_broker_down_registration_still_answers_201(
    app_with_broker_down: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = ASGITransport(app=app_with_broker_down)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            response = await client.post(
                REGISTER, json={"email": "cy@example.com", "password": PASSWORD}
            )
        # Here the client also waits for the publish after the response; a real one does not.
        elapsed = time.monotonic() - started
    assert response.status_code == 201
    # A figure, not a check (a loaded machine is slow): the answer came, with the broker down.
    print(f"register with the broker down: {elapsed:.2f} s (publish timeout {PUBLISH_TIMEOUT} s)")
    (row,) = await outbox_rows(sessionmaker)
    assert row.sent_at is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert f"outbox {row.id}: not published, the broker is unreachable" in warnings[0]
