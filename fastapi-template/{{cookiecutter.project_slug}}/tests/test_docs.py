from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.main import create_app


async def test_docs_served_without_a_cdn(client: AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        assert page.status_code == 200
        assert "cdn.jsdelivr.net" not in page.text
        assert "/static-offline-docs/" in page.text
    asset = await client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert asset.status_code == 200


async def test_docs_off_in_production_unless_enabled(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    for docs_enabled, expected in ((None, 404), (True, 200)):
        app = create_app(production.model_copy(update={"docs_enabled": docs_enabled}))
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/docs")).status_code == expected
            # The schema stays available: clients rely on it (docs/api.md, "Always").
            assert (await client.get("/openapi.json")).status_code == 200
{%- if cookiecutter.database != 'none' %}
        await app.state.engine.dispose()
{%- endif %}
