import logging

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.project_slug }} import main
{%- if cookiecutter.use_auth %}
from {{ cookiecutter.project_slug }}.core import security
{%- endif %}


def test_module_level_app_for_servers() -> None:
    assert isinstance(main.app, FastAPI)


async def test_lifespan_starts_and_stops(app: FastAPI) -> None:
{%- if cookiecutter.use_auth %}
    security._dummy_hash.cache_clear()
{%- endif %}
    async with app.router.lifespan_context(app):
{%- if cookiecutter.use_auth %}
        # Built at start-up, so the first login with an unknown email is not the slow one.
        assert security._dummy_hash.cache_info().currsize == 1
{%- endif %}
        # The request middleware's line replaces the server's access log.
        assert logging.getLogger("uvicorn.access").disabled
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/health")).status_code == 200
    logging.getLogger("uvicorn.access").disabled = False
