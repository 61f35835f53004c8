import logging

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.project_slug }} import main


def test_module_level_app_for_servers() -> None:
    assert isinstance(main.app, FastAPI)


async def test_lifespan_starts_and_stops(app: FastAPI) -> None:
    async with app.router.lifespan_context(app):
        # The request middleware's line replaces the server's access log.
        assert logging.getLogger("uvicorn.access").disabled
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/health")).status_code == 200
    logging.getLogger("uvicorn.access").disabled = False
