"""A database that cannot be reached: every route answers 503 with `Retry-After`, no 500."""

{% if cookiecutter.use_auth -%}
from datetime import timedelta

{% endif -%}
import pytest
from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.project_slug }}.core.config import Settings
{%- if cookiecutter.use_auth %}
from {{ cookiecutter.project_slug }}.core.security import create_access_token
{%- endif %}
from {{ cookiecutter.project_slug }}.main import create_app


@pytest.fixture
def unreachable_url(settings: Settings) -> str:
{%- if cookiecutter.database == 'sqlite' %}
    # SQLite does not create folders: a file in a missing one cannot be opened.
    return "sqlite:////nonexistent-folder/unreachable.db"
{%- else %}
    # Port 1 on this machine: nothing listens there, so connecting is refused at once.
    return settings.async_database_url.set(host="127.0.0.1", port=1).render_as_string(False)
{%- endif %}


async def test_unreachable_database_answers_503(settings: Settings, unreachable_url: str) -> None:
    app = create_app(
        settings.model_copy(update={"database_url": unreachable_url, "database_timeout": 2.0})
    )
    calls: list[tuple[str, str, dict[str, str] | None]] = [
        ("GET", "/api/v1/items", None),
        ("POST", "/api/v1/items", {"name": "kept"}),
        ("DELETE", "/api/v1/items/1", None),
    ]
{%- if cookiecutter.use_auth %}
    token = create_access_token("1", settings.signing_key, timedelta(minutes=5))
    headers = {"Authorization": f"Bearer {token}"}
    calls += [
        ("GET", "/api/v1/users/me", None),
        ("POST", "/api/v1/auth/register", {"email": "a@example.com", "password": "long enough"}),
    ]
{%- else %}
    headers: dict[str, str] = {}
{%- endif %}
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
        for method, path, body in calls:
            response = await client.request(method, path, json=body)
            assert response.status_code == 503, (method, path, response.text)
            assert response.json() == {"detail": "Service Unavailable"}
            assert response.headers["retry-after"] == "2"
    await app.state.engine.dispose()
