"""Typed settings, read from the environment, then from `.env` in the working directory."""

import json
import logging
import secrets
from functools import lru_cache
{%- if cookiecutter.database == 'sqlite' %}
from pathlib import Path
{%- endif %}
from typing import Annotated, Any, Literal

from pydantic import {% if cookiecutter.use_auth %}Field, {% endif %}PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
{%- if cookiecutter.database != 'none' %}
from sqlalchemy.engine import URL, make_url
{%- endif %}

logger = logging.getLogger(__name__)

{% if cookiecutter.database == 'sqlite' -%}
# Anchored to the project folder so the database does not move with the working directory.
DEFAULT_DATABASE_URL = f"sqlite:///{Path(__file__).resolve().parents[2] / '{{ cookiecutter.project_slug }}.db'}"
{% elif cookiecutter.database == 'postgresql' -%}
DEFAULT_DATABASE_URL = "postgresql://postgres@localhost:5432/{{ cookiecutter.project_slug }}"
{% elif cookiecutter.database == 'mysql' -%}
DEFAULT_DATABASE_URL = "mysql://root@localhost:3306/{{ cookiecutter.project_slug }}"
{% endif -%}
{% if cookiecutter.database != 'none' %}
# Plain schemes people write (and hosting platforms hand out) -> the async driver we install.
ASYNC_DRIVERS = {
{%- if cookiecutter.database == 'sqlite' %}
    "sqlite": "sqlite+aiosqlite",
{%- elif cookiecutter.database == 'postgresql' %}
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
{%- elif cookiecutter.database == 'mysql' %}
    "mysql": "mysql+asyncmy",
    "mariadb": "mysql+asyncmy",
{%- endif %}
}

{% endif -%}
MIN_SECRET_LENGTH = 32
# Values that show up in examples and tutorials: never acceptable as a real secret.
PLACEHOLDER_SECRETS = frozenset(
    {"change-me", "changeme", "change_me", "changethis", "change-this", "secret", "secret-key"}
)

Environment = Literal["development", "test", "production"]
LogLevel = Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]


class Settings(BaseSettings):
    # Empty values (`DOCS_ENABLED=` in .env) mean "use the default".
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )
{% if cookiecutter.database != 'none' %}
    database_url: str = DEFAULT_DATABASE_URL
{%- endif %}
    secret_key: str | None = None
{%- if cookiecutter.use_auth %}
    access_token_expire_minutes: int = Field(default=30, gt=0)
{%- endif %}
    cors_origins: Annotated[list[str], NoDecode] = []
    environment: Environment = "development"
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"
    # None means "on, except in production".
    docs_enabled: bool | None = None

    _secret_key_generated: bool = PrivateAttr(default=False)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_secret_key(self) -> "Settings":
        key = (self.secret_key or "").strip()
        if self.environment == "production":
            if not key:
                raise ValueError("SECRET_KEY must be set when ENVIRONMENT=production")
            if key.lower() in PLACEHOLDER_SECRETS:
                raise ValueError("SECRET_KEY is a placeholder: generate a real one for production")
            if len(key) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production"
                )
        elif not key:
            # Tokens then die with the process, which is fine outside production.
            self.secret_key = secrets.token_urlsafe(48)
            self._secret_key_generated = True
        return self

    @property
    def secret_key_generated(self) -> bool:
        return self._secret_key_generated

    @property
    def signing_key(self) -> str:
        if self.secret_key is None:  # pragma: no cover - the validator always sets one
            raise RuntimeError("settings were built without validation")
        return self.secret_key

    @property
    def show_docs(self) -> bool:
        if self.docs_enabled is None:
            return self.environment != "production"
        return self.docs_enabled
{%- if cookiecutter.database != 'none' %}

    @property
    def async_database_url(self) -> URL:
        return to_async_url(self.database_url)
{%- endif %}
{%- if cookiecutter.database != 'none' %}


def to_async_url(raw: str) -> URL:
    """Swap a plain scheme for the async driver; keep a URL that already names one."""
    url = make_url(raw)
    drivername = ASYNC_DRIVERS.get(url.drivername, url.drivername)
    url = url.set(drivername=drivername)
{%- if cookiecutter.database == 'mysql' %}
    if "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
{%- endif %}
    return url
{%- endif %}


@lru_cache
def get_settings() -> Settings:
    return Settings()
