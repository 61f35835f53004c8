"""Helpers the tests share: the test app's config, rows made through the API{% if cookiecutter.use_auth %}, users
signing up{% endif %}."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient


def make_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "ENVIRONMENT": "test",
        "TESTING": True,
        "CORS_ORIGINS": [],
        "LOG_LEVEL": "INFO",
{%- if cookiecutter.use_auth %}
        "SECRET_KEY": TEST_SECRET_KEY,
        "ACCESS_TOKEN_EXPIRE_MINUTES": 30,
        # Generous, so that only the tests about it meet the limit.
        "LOGIN_RATE_LIMIT": "1000/minute",
        # Cheap Argon2 for speed; production keeps the library's defaults.
        "PASSWORD_HASH_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
{%- endif %}
{%- if cookiecutter.use_worker %}
        # Jobs queue in this process's memory: the tests touch no broker unless they say so.
        "BROKER_URL": "memory://",
{%- endif %}
    }
    config.update(overrides)
    return config


def json_of(client: FlaskClient, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """Status and JSON body of one call."""
    response = client.open(path, method=method, **kwargs)
    return response.status_code, response.get_json(silent=True)


def create(client: FlaskClient, url: str, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    """A new row of any resource, made as a client would: POST ``fields`` to ``url``, expect 201."""
    response = client.post(url, json=fields, headers=headers)
    assert response.status_code == 201, response.get_json()
    row: dict[str, Any] = response.get_json()
    return row
{%- if cookiecutter.use_auth %}


# Random-looking and long enough to pass production's check too.
TEST_SECRET_KEY = "Jq3vX9tLmR7wK2pZ8nB4cH6dF1gS5yUe0aTq"


class AuthActions:
    """Register users and get their tokens through the API."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(self, email: str = "ada@example.com", password: str = "correct horse") -> Any:
        body = {"email": email, "password": password}
        response = self.client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def token(self, email: str = "ada@example.com", password: str = "correct horse") -> str:
        form = {"username": email, "password": password}
        response = self.client.post("/api/v1/auth/token", data=form)
        assert response.status_code == 200, response.get_json()
        access_token: str = response.get_json()["access_token"]
        return access_token

    def headers(
        self, email: str = "ada@example.com", password: str = "correct horse"
    ) -> dict[str, str]:
        """A new user's bearer header."""
        self.register(email, password)
        return {"Authorization": f"Bearer {self.token(email, password)}"}
{%- endif %}
