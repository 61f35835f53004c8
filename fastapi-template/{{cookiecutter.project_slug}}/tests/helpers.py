"""Helpers the tests share: settings, and rows made through the API."""

from typing import Any

from httpx import AsyncClient

from {{ cookiecutter.project_slug }}.core.config import Settings

Headers = dict[str, str]


def make_settings(**overrides: object) -> Settings:
    """Settings for tests: explicit values, never the developer's `.env`."""
    values: dict[str, object] = {"environment": "test", "log_level": "WARNING", **overrides}
{%- if cookiecutter.use_worker %}
    # Jobs published by the app under test stay in the process, never on a real broker.
    values.setdefault("broker_url", "memory://")
{%- endif %}
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


async def create(client: AsyncClient, url: str, headers: Headers, **fields: Any) -> dict[str, Any]:
    """A new row of any resource, made as a client would: POST `fields` to `url`, expect 201."""
    response = await client.post(url, json=fields, headers=headers)
    assert response.status_code == 201, response.text
    row: dict[str, Any] = response.json()
    return row
