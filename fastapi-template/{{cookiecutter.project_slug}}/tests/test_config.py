import json
import logging
import os
import sys
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from {{ cookiecutter.project_slug }}.core.config import (
    ConfigError,
    Settings,
    get_settings,
    get_settings_or_exit,
{%- if cookiecutter.database != 'none' %}
    to_async_url,
{%- endif %}
)
from {{ cookiecutter.project_slug }}.core.logging import JsonFormatter
from {{ cookiecutter.project_slug }}.main import create_app

STRONG_KEY = os.urandom(32).hex()
WORDS = ("change", "example", "placeholder", "secret", {% if cookiecutter.use_auth %}"password", {% endif %}"replace", "your")


def load(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings as a server reads them (environment, then `.env`), rebuilt for each test."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("secret_key", "reason"),
    [
        (None, "is not set"),
        ("", "is not set"),
        ("   ", "is not set"),
        ("aZ3$" * 7, "shorter than 32"),
        ("abcabcabc0" * 4, "fewer than 10 different"),
        ("change-me", "shorter than 32"),
        *[(f"q8Vt2LmX{word.upper()}pR4wYz7NcBfH1jKdTs9G", "placeholder") for word in WORDS],
    ],
)
def test_production_refuses_a_weak_secret(secret_key: str | None, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as refused:
        load(environment="production", secret_key=secret_key)
    if secret_key:
        assert secret_key not in str(refused.value)


def test_a_refused_secret_is_one_line_without_the_value(environment: pytest.MonkeyPatch) -> None:
    weak = "our-placeholder-value-0123456789-abcdef"
    environment.setenv("ENVIRONMENT", "production")
    environment.setenv("SECRET_KEY", weak)
    with pytest.raises(ConfigError) as refused:
        get_settings()
    line = str(refused.value)
    assert "\n" not in line
    assert line.startswith("invalid settings: SECRET_KEY looks like a placeholder")
    assert 'python -c "import os; print(os.urandom(32).hex())"' in line
    assert weak not in line

    # What the entry points show: that line alone, no traceback.
    with pytest.raises(SystemExit) as stopped:
        get_settings_or_exit()
    assert stopped.value.code == line


def test_generated_keys_pass_the_production_rule() -> None:
    for _ in range(20):
        load(environment="production", secret_key=os.urandom(32).hex())


def test_production_accepts_a_strong_secret() -> None:
    settings = load(environment="production", secret_key=STRONG_KEY)
    assert settings.signing_key == STRONG_KEY
    assert not settings.show_docs


def test_development_without_secret_uses_a_random_one(caplog: pytest.LogCaptureFixture) -> None:
    first, second = load(environment="development"), load(environment="development")
    assert first.secret_key_generated
    assert len(first.signing_key) >= 32
    assert first.signing_key != second.signing_key
    with caplog.at_level(logging.WARNING):
        app = create_app(first.model_copy(update={"log_level": "WARNING"}))
    assert "SECRET_KEY is not set" in caplog.text
{%- if cookiecutter.database != 'none' %}
    assert app.state.engine is not None
{%- else %}
    assert app.title
{%- endif %}


def test_defaults() -> None:
    settings = load()
{%- if cookiecutter.use_auth %}
    assert settings.access_token_expire_minutes == 30
{%- endif %}
    assert settings.environment == "development"
    assert settings.log_level == "INFO"
    assert settings.cors_origins == []
    assert settings.show_docs


@pytest.mark.parametrize(
    "raw",
    ["https://a.example, https://b.example", '["https://a.example", "https://b.example"]'],
)
def test_cors_origins_comma_separated_or_json(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", raw)
    assert load().cors_origins == ["https://a.example", "https://b.example"]


def test_log_level_is_case_insensitive() -> None:
    assert load(log_level="debug").log_level == "DEBUG"
{%- if cookiecutter.database != 'none' %}


@pytest.mark.parametrize(
    ("raw", "driver"),
    [
{%- if cookiecutter.database == 'sqlite' %}
        ("sqlite:///app.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///app.db", "sqlite+aiosqlite"),
{%- elif cookiecutter.database == 'postgresql' %}
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
{%- else %}
        ("mysql://u@h/db", "mysql+asyncmy"),
        ("mariadb://u@h/db", "mysql+asyncmy"),
        ("mysql+asyncmy://u@h/db", "mysql+asyncmy"),
{%- endif %}
    ],
)
def test_plain_database_urls_get_the_async_driver(raw: str, driver: str) -> None:
    assert to_async_url(raw).drivername == driver
    assert load(database_url=raw).database_url == raw


@pytest.mark.parametrize(
    "raw",
    [
        "foo",
        "oracle://scott:tiger-pass@db.example/orcl",
        "mssql+pyodbc://u:tiger-pass@h/db",
    ],
)
def test_an_unusable_database_url_is_one_clear_line(
    raw: str, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("DATABASE_URL", raw)
    with pytest.raises(ConfigError) as refused:
        get_settings()
    line = str(refused.value)
    assert line.startswith("invalid settings: DATABASE_URL: not a URL this project can use")
    assert "{{ 'sqlite:///' if cookiecutter.database == 'sqlite' else cookiecutter.database + '://' }}" in line
    assert "\n" not in line
    assert "tiger" not in line
{%- endif %}


def test_json_log_lines() -> None:
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "hello %s", "args": ("you",), "status": 200}
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello you"
    assert line["status"] == 200


def test_json_log_lines_carry_tracebacks() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    assert "ValueError: bad" in json.loads(JsonFormatter().format(record))["exc_info"]
