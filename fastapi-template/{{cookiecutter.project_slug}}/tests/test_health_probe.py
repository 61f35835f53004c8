"""/health answers from a database probe of at most a second ago: one `SELECT 1` per second
per process, however often load balancers call."""

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event

from {{ cookiecutter.project_slug }}.api.routes import health
from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.main import create_app


def probes(statements: list[str]) -> int:
    return statements.count("SELECT 1")


async def test_calls_within_a_second_share_one_probe(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    # The route's clock stands still until the test moves it.
    monkeypatch.setattr(health, "time", SimpleNamespace(monotonic=lambda: now[0]), raising=False)
    app = create_app(settings)
    statements: list[str] = []

    @event.listens_for(app.state.engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        answers = await asyncio.gather(*(client.get("/health") for _ in range(20)))
        answers.append(await client.get("/health"))
        assert [a.status_code for a in answers] == [200] * 21
        assert probes(statements) == 1

        now[0] += 1.0
        assert (await client.get("/health")).json() == {"status": "ok", "database": "ok"}
        assert probes(statements) == 2
    await app.state.engine.dispose()
