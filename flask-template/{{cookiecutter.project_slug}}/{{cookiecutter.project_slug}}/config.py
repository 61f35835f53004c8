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
from pydantic import BaseModel, ConfigDict, Field, field_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
{%- if cookiecutter.database == "sqlite" %}
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / '{{ cookiecutter.project_slug }}.db'}"
{%- elif cookiecutter.database == "postgresql" %}
DEFAULT_DATABASE_URL = "postgresql://postgres@localhost:5432/{{ cookiecutter.project_slug }}"
{%- elif cookiecutter.database == "mysql" %}
DEFAULT_DATABASE_URL = "mysql://root@localhost:3306/{{ cookiecutter.project_slug }}"
{%- endif %}
{%- if cookiecutter.database in ["postgresql", "mysql"] %}

# Users and platforms hand out plain URLs; the project picks the driver it ships with.
DRIVER_SCHEMES = {
{%- if cookiecutter.database == "postgresql" %}
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
{%- else %}
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
{%- endif %}
}
{%- endif %}

# Values that look like a secret but are known to everyone who read the template.
PLACEHOLDER_SECRETS = frozenset({"change-me", "changeme", "secret", "secret-key", "your-secret-key"})
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The settings do not allow the service to start."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
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
        return cls.model_validate(values)
{% if cookiecutter.database in ["postgresql", "mysql"] %}
    @field_validator("database_url")
    @classmethod
    def use_installed_driver(cls, value: str) -> str:
        scheme, separator, rest = value.partition("://")
        return f"{DRIVER_SCHEMES.get(scheme, scheme)}{separator}{rest}"
{% endif %}
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
        if not self.secret_key:
            raise ConfigError("SECRET_KEY is not set: production needs a random secret of 32 characters or more.")
        if self.secret_key.lower() in PLACEHOLDER_SECRETS:
            raise ConfigError("SECRET_KEY is a placeholder: set a random secret of 32 characters or more.")
        if len(self.secret_key) < MIN_SECRET_LENGTH:
            raise ConfigError(f"SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters: set a longer random secret.")


def current_settings() -> Settings:
    settings = current_app.config["SETTINGS"]
    assert isinstance(settings, Settings)
    return settings
