"""Helpers the tests share: the test app's config{% if cookiecutter.use_auth %}, users signing up through the API{% endif %}{% if cookiecutter.database != "none" %},
and the guard that keeps the tests off the development database{% endif %}."""

from __future__ import annotations

from typing import Any
{%- if cookiecutter.database != "none" %}

import pytest
{%- endif %}
{%- if cookiecutter.use_auth %}
from flask.testing import FlaskClient
{%- endif %}
{%- if cookiecutter.database != "none" %}
from sqlalchemy import make_url

from {{ cookiecutter.project_slug }}.config import Settings
{%- endif %}

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"


def make_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "ENVIRONMENT": "test",
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        "CORS_ORIGINS": [],
        "LOG_LEVEL": "INFO",
{%- if cookiecutter.use_auth %}
        "ACCESS_TOKEN_EXPIRE_MINUTES": 30,
        # Cheap Argon2 for speed; production keeps the library's defaults.
        "PASSWORD_HASH_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
{%- endif %}
    }
    config.update(overrides)
    return config
{%- if cookiecutter.database != "none" %}


def refuse_the_development_database(test_url: str) -> None:
    """Stop the run when the test database is DATABASE_URL's: the tests migrate it down to nothing."""
    development = make_url(Settings.load().database_url)
    if make_url(Settings.load({"database_url": test_url}).database_url) == development:
        pytest.exit(
            "The test database is the DATABASE_URL database, which the tests would empty: "
            "point TEST_DATABASE_URL at another database.",
            returncode=4,
        )
{%- endif %}
{%- if cookiecutter.use_auth %}


class AuthActions:
    """Register users and get their tokens through the API."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(self, email: str = "ada@example.com", password: str = "correct horse") -> dict[str, Any]:
        response = self.client.post("/api/v1/auth/register", json={"email": email, "password": password})
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def token(self, email: str = "ada@example.com", password: str = "correct horse") -> str:
        response = self.client.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert response.status_code == 200, response.get_json()
        access_token: str = response.get_json()["access_token"]
        return access_token

    def headers(self, email: str = "ada@example.com", password: str = "correct horse") -> dict[str, str]:
        """A new user's bearer header."""
        self.register(email, password)
        return {"Authorization": f"Bearer {self.token(email, password)}"}

{%- endif %}
