"""SQLite's statements cost one trip each to the connection's thread, and a transaction that
was never opened costs none to end (db/sqlite.py): counted on the service's own engine."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import select

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.main import create_app


async def test_a_read_is_one_trip_and_a_write_three(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/trips.db"}))
    async with app.state.engine.connect():
        pass  # connected once, so that connecting is not counted
    trips: list[str] = []
    queue: Callable[..., Awaitable[Any]] = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    # As api/deps.py's get_session opens them for a GET and for a POST.
    async with app.state.read_sessionmaker(execution_options={"writes": False}) as session:
        assert await session.scalar(select(1)) == 1
        await session.commit()
    assert trips == ["_run"]  # the SELECT; no BEGIN, and nothing to commit or roll back

    trips.clear()
    async with app.state.sessionmaker(execution_options={"writes": True}) as session:
        assert await session.scalar(select(1)) == 1
        await session.commit()
    assert trips == ["_run", "_run", "commit"]  # BEGIN IMMEDIATE, the SELECT, COMMIT
    await app.state.engine.dispose()
