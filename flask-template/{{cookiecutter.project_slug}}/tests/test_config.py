from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.config import ConfigError, Settings

from .helpers import make_config

STRONG_SECRET = "Jq3vX9tLmR7wK2pZ8nB4cH6dF1gS5yUe"


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("", "is not set"),
        ("Jq3vX9tLmR7wK2pZ8nB4", "is shorter than 32 characters"),
        ("ab" * 20, "has fewer than 10 distinct characters"),
        ("change-me-Jq3vX9tLmR7wK2pZ8nB4cH6dF", "looks like a placeholder"),
        ("Jq3vX9tLmR7wK2pZ8nB4cH6dF1gS5yUe-EXAMPLE", "looks like a placeholder"),
        ("Jq3vX9tLmR7wK2pZ8nB4cH6dF1gS5yUe_Your", "looks like a placeholder"),
    ],
)
def test_production_refuses_a_weak_secret(secret: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        create_app(make_config(ENVIRONMENT="production", SECRET_KEY=secret))
    message = str(refused.value)
    assert message.startswith(f"SECRET_KEY {problem}")
    assert "os.urandom(32).hex()" in message  # says how to make a good one
    assert "\n" not in message
    if secret:
        assert secret not in message


def test_production_starts_with_a_strong_secret() -> None:
    app = create_app(make_config(ENVIRONMENT="production", SECRET_KEY=STRONG_SECRET))
    assert app.config["SETTINGS"].environment == "production"


def test_weak_secrets_are_fine_outside_production() -> None:
    app = create_app(make_config(ENVIRONMENT="development", SECRET_KEY="change-me"))
    assert app.config["SECRET_KEY"] == "change-me"


def test_create_app_accepts_a_settings_object() -> None:
    settings = Settings(environment="test", secret_key="y" * 40{% if cookiecutter.database == "sqlite" %}, database_url="sqlite://"{% endif %})
    app = create_app(settings)
    assert app.config["SECRET_KEY"] == "y" * 40


def test_a_random_secret_when_none_is_set_in_development(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        app = create_app(make_config(ENVIRONMENT="development", SECRET_KEY=""))
    assert len(app.config["SECRET_KEY"]) >= 32
    another = create_app(make_config(ENVIRONMENT="development", SECRET_KEY=""))
    assert another.config["SECRET_KEY"] != app.config["SECRET_KEY"]
    assert "SECRET_KEY is not set: using a random one" in caplog.text


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("CORS_ORIGINS", "http://a.test, http://b.test")
{%- if cookiecutter.use_auth %}
    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "5")
{%- endif %}
    settings = Settings.load()
    assert settings.log_level == "DEBUG"
    assert settings.cors_origins == ["http://a.test", "http://b.test"]
{%- if cookiecutter.use_auth %}
    assert settings.access_token_expire_minutes == 5
{%- endif %}


def test_cors_origins_as_a_json_list() -> None:
    assert Settings.load({"cors_origins": '["http://a.test"]'}).cors_origins == ["http://a.test"]


def test_unknown_log_level_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^Invalid settings: LOG_LEVEL: unknown log level"):
        Settings.load({"log_level": "LOUD"})
{%- if cookiecutter.database != "none" %}


MALFORMED_URL = "{% if cookiecutter.database == "sqlite" %}sqlite:/missing-slashes.db{% elif cookiecutter.database == "postgresql" %}postgresql://user@db:port/name{% else %}mysql://user@db:port/name{% endif %}"


@pytest.mark.parametrize("url", ["foo", "oracle://scott@db/orcl", "", MALFORMED_URL])
def test_a_bad_database_url_is_one_clear_line(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.load({"database_url": url})
    message = str(refused.value)
    assert message.startswith("Invalid settings: DATABASE_URL: expected ")
    assert "{% if cookiecutter.database == "sqlite" %}sqlite:///{% elif cookiecutter.database == "postgresql" %}postgresql://{% else %}mysql://{% endif %}" in message
    assert "\n" not in message
    assert refused.value.__cause__ is None
{%- endif %}
{%- if cookiecutter.database in ["postgresql", "mysql"] %}


@pytest.mark.parametrize("scheme", [{% if cookiecutter.database == "postgresql" %}"postgres", "postgresql"{% else %}"mysql", "mariadb"{% endif %}])
def test_plain_database_urls_get_the_installed_driver(scheme: str) -> None:
    url = Settings.load({"database_url": f"{scheme}://user@db:1234/name"}).database_url
    assert url == "{% if cookiecutter.database == "postgresql" %}postgresql+psycopg{% else %}mysql+pymysql{% endif %}://user@db:1234/name"
{%- endif %}


def test_cors_allows_listed_origins_only() -> None:
    client: FlaskClient = create_app(make_config(CORS_ORIGINS="http://a.test")).test_client()

    preflight = client.options(
        "/health",
        headers={
            "Origin": "http://a.test",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://a.test"
    assert preflight.headers["Access-Control-Allow-Headers"] == "authorization"

    refused = client.options("/health", headers={"Origin": "http://b.test", "Access-Control-Request-Method": "GET"})
    assert refused.status_code == 400
    assert refused.get_json() == {"detail": "Disallowed CORS origin"}

    simple = client.get("/nowhere", headers={"Origin": "http://a.test"})
    assert simple.headers["Access-Control-Allow-Origin"] == "http://a.test"
    other = client.get("/nowhere", headers={"Origin": "http://b.test"})
    assert "Access-Control-Allow-Origin" not in other.headers
