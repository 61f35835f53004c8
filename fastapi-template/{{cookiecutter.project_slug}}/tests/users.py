"""Registered users and their bearer tokens, and cheap password hashing for the suite."""

from collections.abc import Iterator

import pytest
from httpx import AsyncClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from {{ cookiecutter.project_slug }}.core import security

__all__ = ["auth_headers", "cheap_password_hashing", "other_auth_headers"]

PASSWORD = "correct-horse"


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its lowest cost: the production parameters stay untouched in the package."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            security,
            "password_hash",
            PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),)),
        )
        security._dummy_hash.cache_clear()
        yield
    security._dummy_hash.cache_clear()


async def _register(client: AsyncClient, email: str) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text


async def _login(client: AsyncClient, email: str) -> str:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _bearer(client: AsyncClient, email: str) -> dict[str, str]:
    await _register(client, email)
    return {"Authorization": f"Bearer {await _login(client, email)}"}


@pytest.fixture
async def auth_headers(client: AsyncClient) -> dict[str, str]:
    return await _bearer(client, "alice@example.com")


@pytest.fixture
async def other_auth_headers(client: AsyncClient) -> dict[str, str]:
    return await _bearer(client, "bob@example.com")
