import json
import logging
{%- if cookiecutter.database in ('postgresql', 'mysql') %}
import os
{%- endif %}
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }}.core.config import (
    ConfigError,
    Settings,
    get_settings,
    get_settings_or_exit,
)
from {{ cookiecutter.project_slug }}.core.logging import JsonFormatter
{%- if cookiecutter.database in ('postgresql', 'mysql') %}
from {{ cookiecutter.project_slug }}.db import {{ cookiecutter.database }} as dialect
{%- endif %}


def load(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings as a server reads them (environment, then `.env`), rebuilt for each test."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
{%- if not cookiecutter.use_auth %}


def test_production_needs_no_signing_key(environment: pytest.MonkeyPatch) -> None:
    # Nothing in this project signs anything: no key to ask for.
    environment.setenv("ENVIRONMENT", "production")
    assert get_settings().environment == "production"
    assert "SECRET_KEY" not in describe_fields()


def describe_fields() -> str:
    return " ".join(name.upper() for name in Settings.model_fields)
{%- endif %}


def test_a_bad_setting_is_one_line_for_the_operator(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("MAX_BODY_BYTES", "a lot")
    with pytest.raises(ConfigError) as refused:
        get_settings()
    line = str(refused.value)
    assert line.startswith("invalid settings: MAX_BODY_BYTES: ")
    assert "\n" not in line
    # What the entry points show: that line alone, no traceback.
    with pytest.raises(SystemExit) as stopped:
        get_settings_or_exit()
    assert stopped.value.code == line


def test_settings_come_from_the_files_of_secrets_dir(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # One file per setting, named after it, as a mounted secret volume lays them out.
    environment.chdir(tmp_path)  # no .env
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "MAX_BODY_BYTES").write_text("2048\n")
    (secrets / "BODY_TIMEOUT").write_text("7\n")
    (secrets / "NOT_A_SETTING").write_text("ignored\n")
    environment.setenv("SECRETS_DIR", str(secrets))
    environment.delenv("MAX_BODY_BYTES", raising=False)
    environment.setenv("BODY_TIMEOUT", "9")
    settings = get_settings()
    assert settings.max_body_bytes == 2048
    assert settings.body_timeout == 9, "the environment wins over a file"


def test_a_secrets_dir_that_is_not_a_directory_is_refused(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environment.setenv("SECRETS_DIR", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match=r"^invalid settings: SECRETS_DIR: "):
        get_settings()


def test_defaults() -> None:
    settings = load()
    assert settings.max_body_bytes == 1_048_576
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
{%- if cookiecutter.database in ('postgresql', 'mysql') %}


@pytest.mark.parametrize("secret", sorted(dialect.DEFAULT_PASSWORDS))
def test_production_refuses_a_well_known_database_password(
    environment: pytest.MonkeyPatch, secret: str
) -> None:
    url = dialect.DEFAULT_URL.replace("@", f":{secret.upper()}@", 1)
    environment.setenv("DATABASE_URL", url)
    assert get_settings().database_url, "allowed outside production"
    get_settings.cache_clear()
    environment.setenv("ENVIRONMENT", "production")
    environment.setenv("SECRET_KEY", os.urandom(32).hex())
    with pytest.raises(ConfigError) as refused:
        get_settings()
    assert str(refused.value) == (
        "invalid settings: DATABASE_URL holds a well-known default secret: "
        "production needs the database user's own"
    )
{%- endif %}
