from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.config import ConfigError, Settings

from .conftest import make_config


@pytest.mark.parametrize(
    ("secret", "message"),
    [("", "not set"), ("change-me", "placeholder"), ("short-but-random-7f3a", "shorter than 32")],
)
def test_production_refuses_a_weak_secret(secret: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_app(make_config(ENVIRONMENT="production", SECRET_KEY=secret))


def test_production_starts_with_a_strong_secret() -> None:
    app = create_app(make_config(ENVIRONMENT="production", SECRET_KEY="x" * 40))
    assert app.config["SETTINGS"].environment == "production"


def test_create_app_accepts_a_settings_object() -> None:
    settings = Settings(environment="test", secret_key="y" * 40{% if cookiecutter.database == "sqlite" %}, database_url="sqlite://"{% endif %})
    app = create_app(settings)
    assert app.config["SECRET_KEY"] == "y" * 40


def test_a_random_secret_when_none_is_set_in_development() -> None:
    app = create_app(make_config(ENVIRONMENT="development", SECRET_KEY=""))
    assert len(app.config["SECRET_KEY"]) >= 32


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
    with pytest.raises(ValueError, match="unknown log level"):
        Settings.load({"log_level": "LOUD"})
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

    simple = client.get("/nowhere", headers={"Origin": "http://a.test"})
    assert simple.headers["Access-Control-Allow-Origin"] == "http://a.test"
    other = client.get("/nowhere", headers={"Origin": "http://b.test"})
    assert "Access-Control-Allow-Origin" not in other.headers
