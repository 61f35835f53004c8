"""/health while the SQLite file cannot be opened, and again once it can."""

import asyncio
from pathlib import Path

from httpx import ASGITransport, AsyncClient, Response

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.main import create_app


async def health_once_renewed(client: AsyncClient) -> Response:
    """/health once it answers 200, or its last answer after 30 seconds (a loaded machine)."""
    for _ in range(300):
        response = await client.get("/health")
        if response.status_code == 200:
            break
        await asyncio.sleep(0.1)
    return response


async def test_health_unavailable_then_back(settings: Settings) -> None:
    # Beside the test database, a folder that does not exist yet.
    missing_dir = Path(settings.database_url.removeprefix("sqlite:///")).parent / "not-yet"
    app = create_app(settings.model_copy(update={"database_url": f"sqlite:///{missing_dir}/x.db"}))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/health")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unreachable"}

        # The database "comes back": the same running app answers 200 again.
        missing_dir.mkdir()
        # The last probe's answer stands for up to a second: ask until it is renewed.
        response = await health_once_renewed(client)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}
    await app.state.engine.dispose()
