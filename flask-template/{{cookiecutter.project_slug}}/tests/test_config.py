from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.config import ConfigError, Settings
{%- if cookiecutter.database in ("postgresql", "mysql") %}
from {{ cookiecutter.project_slug }}.{{ cookiecutter.database }} import DEFAULT_DATABASE_URL, DEFAULT_PASSWORDS
{%- endif %}

from .helpers import make_config


def test_create_app_accepts_a_settings_object() -> None:
    settings = Settings.load({"environment": "test", "log_level": "debug"})
    assert create_app(settings).config["SETTINGS"] is settings


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("CORS_ORIGINS", "http://a.test, http://b.test")
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    settings = Settings.load()
    assert settings.log_level == "DEBUG"
    assert settings.cors_origins == ["http://a.test", "http://b.test"]
    assert settings.max_body_bytes == 2048


def test_settings_come_from_the_files_of_secrets_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # One file per setting, named after it, as a mounted secret volume lays them out.
    (tmp_path / "MAX_BODY_BYTES").write_text("2048\n")
    (tmp_path / "BODY_TIMEOUT").write_text("7\n")
    (tmp_path / "NOT_A_SETTING").write_text("ignored\n")
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("MAX_BODY_BYTES", raising=False)
    monkeypatch.setenv("BODY_TIMEOUT", "9")
    settings = Settings.load()
    assert settings.max_body_bytes == 2048
    assert settings.body_timeout == 9, "the environment wins over a file"


def test_a_secrets_dir_that_is_not_a_directory_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match=r"^Invalid settings: SECRETS_DIR: "):
        Settings.load()


def test_cors_origins_as_a_json_list() -> None:
    assert Settings.load({"cors_origins": '["http://a.test"]'}).cors_origins == ["http://a.test"]


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("log_level", "LOUD", "LOG_LEVEL: unknown log level"),
        ("log_format", "xml", "LOG_FORMAT: Input should be 'text' or 'json'"),
        ("max_body_bytes", "0", "MAX_BODY_BYTES: Input should be greater than 0"),
        ("docs_enabled", "perhaps", "DOCS_ENABLED: Input should be a valid boolean"),
    ],
)
def test_a_bad_setting_is_one_clear_line(name: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=rf"^Invalid settings: {reason}"):
        Settings.load({name: value})


def test_production_starts_without_optional_settings() -> None:
    app = create_app(make_config(ENVIRONMENT="production"))
    assert app.config["SETTINGS"].environment == "production"


def test_cors_allows_listed_origins_only() -> None:
    client = create_app(make_config(CORS_ORIGINS="http://a.test")).test_client()
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
    assert preflight.headers["Access-Control-Allow-Headers"].lower() == "authorization"

    simple = client.get("/openapi.json", headers={"Origin": "http://a.test"})
    assert simple.headers["Access-Control-Allow-Origin"] == "http://a.test"
    for refused in (
        client.options("/health", headers={"Origin": "http://b.test"}),
        client.get("/openapi.json", headers={"Origin": "http://b.test"}),
    ):
        assert "Access-Control-Allow-Origin" not in refused.headers


def test_the_wsgi_module_serves_the_app() -> None:
    from {{ cookiecutter.project_slug }}.wsgi import app

    assert app.test_client().get("/openapi.json").status_code == 200
{%- if cookiecutter.database in ("postgresql", "mysql") %}


@pytest.mark.parametrize("secret", sorted(DEFAULT_PASSWORDS))
def test_production_refuses_a_well_known_database_password(secret: str) -> None:
    values = {"database_url": DEFAULT_DATABASE_URL.replace("@", f":{secret.upper()}@", 1)}
    assert Settings.load(values).database_url, "allowed outside production"
    with pytest.raises(ConfigError) as refused:
        Settings.load({**values, "environment": "production"})
    assert str(refused.value) == (
        "Invalid settings: DATABASE_URL holds a well-known default secret: "
        "production needs the database user's own"
    )
{%- endif %}
