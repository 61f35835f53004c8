"""Settings, read once per app: the environment first, then `.env` in the working directory."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from flask import current_app
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
{%- if cookiecutter.database != "none" %}
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError
{%- endif %}

PROJECT_ROOT = Path(__file__).resolve().parent.parent
{%- if cookiecutter.database == "sqlite" %}
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / '{{ cookiecutter.project_slug }}.db'}"
{%- elif cookiecutter.database == "postgresql" %}
DEFAULT_DATABASE_URL = "postgresql://postgres@localhost:5432/{{ cookiecutter.project_slug }}"
{%- elif cookiecutter.database == "mysql" %}
DEFAULT_DATABASE_URL = "mysql://root@localhost:3306/{{ cookiecutter.project_slug }}"
{%- endif %}
{%- if cookiecutter.database in ["postgresql", "mysql"] %}

# The schemes DATABASE_URL may use, each with the driver this project installs.
DRIVER_SCHEMES = {
{%- if cookiecutter.database == "postgresql" %}
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
EXAMPLE_DATABASE_URL = "postgresql://user@host:5432/name"
{%- else %}
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "mysql+pymysql": "mysql+pymysql",
}
EXAMPLE_DATABASE_URL = "mysql://user@host:3306/name"
{%- endif %}
ACCEPTED_SCHEMES = ", ".join(f"{scheme}://" for scheme in DRIVER_SCHEMES)
{%- endif %}

# Production refuses a SECRET_KEY that could be guessed: short, repetitive, or a
# placeholder someone forgot to replace (matched case-insensitively anywhere in it).
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT_CHARACTERS = 10
PLACEHOLDER_WORDS = ("change", "example", "placeholder", "secret", {% if cookiecutter.use_auth %}"password", {% endif %}"replace", "your")
NEW_KEY_RECIPE = 'generate one with: python3 -c "import os; print(os.urandom(32).hex())"'


class ConfigError(RuntimeError):
    """The settings do not allow the service to start."""


class Settings(BaseModel):
    # hide_input: a refused value (a secret, a URL with credentials) never reaches an error message.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
{% if cookiecutter.database != "none" %}
    database_url: str = Field(default=DEFAULT_DATABASE_URL, validate_default=True)
{%- endif %}
    secret_key: str = ""
{%- if cookiecutter.use_auth %}
    access_token_expire_minutes: int = Field(default=30, gt=0)
{%- endif %}
    cors_origins: list[str] = Field(default_factory=list)
    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None) -> Settings:
        """Build the settings from `.env`, then the environment, then ``overrides`` (highest)."""
        values: dict[str, Any] = {}
        for source in (dotenv_values(".env"), os.environ):
            values.update(
                {key.lower(): value for key, value in source.items() if key.lower() in cls.model_fields and value}
            )
        values.update({key.lower(): value for key, value in (overrides or {}).items()})
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ConfigError(_one_line(error)) from None
{%- if cookiecutter.database != "none" %}

    @field_validator("database_url")
    @classmethod
    def supported_database_url(cls, value: str) -> str:
{%- if cookiecutter.database == "sqlite" %}
        if not value.startswith("sqlite://") or not _parses(value):
            raise ValueError(
                "expected a SQLite URL: sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:// (memory)"
            )
        return value
{%- else %}
        scheme, separator, rest = value.partition("://")
        if scheme not in DRIVER_SCHEMES or not separator or not rest or not _parses(value):
            raise ValueError(f"expected a URL like {EXAMPLE_DATABASE_URL} ({ACCEPTED_SCHEMES} schemes)")
        # Users and platforms hand out plain URLs; the project picks the driver it ships with.
        return f"{DRIVER_SCHEMES[scheme]}://{rest}"
{%- endif %}
{%- endif %}

    @field_validator("cors_origins", mode="before")
    @classmethod
    def split_origins(cls, value: Any) -> Any:
        # Accept both spellings the contract allows: a JSON list or comma-separated text.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def known_level(cls, value: str) -> str:
        level = value.upper()
        if not isinstance(logging.getLevelNamesMapping().get(level), int):
            raise ValueError(f"unknown log level {value!r}")
        return level

    def refuse_unsafe_production(self) -> None:
        if self.environment != "production":
            return
        problem = secret_key_problem(self.secret_key)
        if problem:
            raise ConfigError(
                f"SECRET_KEY {problem}: production needs a random value of {MIN_SECRET_LENGTH} characters or more; "
                f"{NEW_KEY_RECIPE}"
            )


def secret_key_problem(secret_key: str) -> str | None:
    """Why ``secret_key`` is unfit for production (never quoting it), or None."""
    if not secret_key:
        return "is not set"
    if len(secret_key) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(secret_key)) < MIN_SECRET_DISTINCT_CHARACTERS:
        return f"has fewer than {MIN_SECRET_DISTINCT_CHARACTERS} distinct characters"
    lowered = secret_key.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return f"looks like a placeholder (it contains one of: {', '.join(PLACEHOLDER_WORDS)})"
    return None
{%- if cookiecutter.database != "none" %}


def _parses(url: str) -> bool:
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        return False
    return True
{%- endif %}


def _one_line(error: ValidationError) -> str:
    """pydantic's report, one ``SETTING: reason`` per problem, on one line."""
    problems = []
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]).upper() if item["loc"] else "settings"
        reason = item["msg"].removeprefix("Value error, ")
        problems.append(f"{name}: {reason}")
    return "Invalid settings: " + "; ".join(problems)


def current_settings() -> Settings:
    settings = current_app.config["SETTINGS"]
    assert isinstance(settings, Settings)
    return settings
