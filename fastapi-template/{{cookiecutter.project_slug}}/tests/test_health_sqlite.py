"""/health while the SQLite file cannot be opened, and again once it can."""

from pathlib import Path

from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.main import create_app


async def test_health_unavailable_then_back(settings: Settings) -> None:
    # Beside the test database, a folder that does not exist yet.
    missing_dir = Path(settings.database_url.removeprefix("sqlite:///")).parent / "not-yet"
    app = create_app(settings.model_copy(update={"database_url": f"sqlite:///{missing_dir}/x.db"}))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/health")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unreachable"}

        # The database "comes back": the same running app answers 200 again. Its first
        # connection creates the file within the health check's 2 s, which a loaded machine
        # may miss: asked again (bounded), never restarted.
        missing_dir.mkdir()
        for _ in range(10):
            response = await client.get("/health")
            if response.status_code == 200:
                break
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}
    await app.state.engine.dispose()
