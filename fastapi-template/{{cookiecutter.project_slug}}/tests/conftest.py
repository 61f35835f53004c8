"""Shared fixtures: the app{% if cookiecutter.database != 'none' %} on a test database of its own{% endif %}, and a client that calls it in-process."""

from collections.abc import AsyncIterator

import pytest
from {{ 'app_with_database' if cookiecutter.database != 'none' else 'app_without_database' }} import *  # noqa: F403
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
{%- if cookiecutter.use_auth %}
from users import *  # noqa: F403
{%- endif %}


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client
