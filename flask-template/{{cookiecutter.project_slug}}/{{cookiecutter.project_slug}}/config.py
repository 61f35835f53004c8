"""Settings, read once per app from the environment (where `flask` and the WSGI module
put what `.env` holds)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
from collections.abc import Mapping
{%- if cookiecutter.use_worker %}
from email.utils import parseaddr
{%- endif %}
from pathlib import Path
from typing import Any, Literal, NoReturn
{%- if cookiecutter.database != "none" %}
from urllib.parse import unquote, urlsplit
{%- endif %}

import click
from flask import current_app
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
{%- if cookiecutter.database != "none" %}
    model_validator,
{%- endif %}
)
{%- if cookiecutter.database != "none" %}

from .{{ cookiecutter.database }} import DEFAULT_DATABASE_URL, DEFAULT_PASSWORDS, with_driver
{%- endif %}
{%- if cookiecutter.use_auth %}

# Production refuses a SECRET_KEY that could be guessed: short, repetitive, or a
# placeholder someone forgot to replace (matched case-insensitively anywhere in it).
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT_CHARACTERS = 10
PLACEHOLDER_WORDS = ("change", "example", "placeholder", "secret", "password", "replace", "your")
NEW_KEY_HINT = 'generate one with: python3 -c "import os; print(os.urandom(32).hex())"'
{%- endif %}


class ConfigError(click.ClickException):
    """Settings that cannot work; the message is one line, fit for an operator.

    A ClickException, so that `flask` commands (`flask db upgrade`) print it as one line."""


def stop_serving(error: ConfigError) -> NoReturn:
    """Leave a server process with one line for the operator. Under granian, whose main process
    respawns a worker that exits (README, "Deployment"), the worker stops the whole server too:
    a bad setting does not mend itself, and a worker that fails at each start never serves."""
    with contextlib.suppress(OSError):
        if b"granian" in Path(f"/proc/{os.getppid()}/cmdline").read_bytes():
            os.kill(os.getppid(), signal.SIGTERM)
    raise SystemExit(str(error)) from None


class Settings(BaseModel):
    # hide_input: a refused value (a secret, a URL with credentials) never reaches an error message.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
{% if cookiecutter.database != "none" %}
    database_url: str = Field(default=DEFAULT_DATABASE_URL, validate_default=True)
    # Seconds any wait on the database may take (connecting, a statement, a lock) before
    # the request answers 503.
    database_timeout: float = Field(default=5.0, gt=0)
    # Per worker process: workers x (pool size + overflow) must stay under the database
    # server's connection limit; each of a worker's threads holds at most one connection.
    database_pool_size: int = Field(default=5, ge=1)
    database_max_overflow: int = Field(default=5, ge=0)
    # Waiting for a free connection under a burst is queueing, not a fault: the requests
    # holding the connections are bounded by DATABASE_TIMEOUT.
    database_pool_timeout: float = Field(default=10.0, gt=0)
    database_pool_recycle: int = Field(default=1800, ge=-1)
    database_pool_pre_ping: bool = False
{%- endif %}
{%- if cookiecutter.use_auth %}
    secret_key: str = ""
    access_token_expire_minutes: int = Field(default=30, gt=0)
    # `limits` notation, e.g. "30/minute" or "5/second;100/hour".
    login_rate_limit: str = "30/minute"
    # Empty: rate-limit counters live in each process; a redis:// URL shares them.
    redis_url: str = ""
{%- endif %}
{%- if cookiecutter.use_worker %}
    # Background jobs (tasks.py): the queue, and the mail server of the welcome email.
    broker_url: str = "redis://localhost:6379/0"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_timeout: float = Field(default=10.0, gt=0)
    mail_from: str = "noreply@localhost"
    # How often the worker's beat publishes the jobs whose broker was away when committed.
    outbox_drain_seconds: float = Field(default=30.0, gt=0)
{%- endif %}
    cors_origins: list[str] = Field(default_factory=list)
    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # None means "on, except in production".
    docs_enabled: bool | None = None
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # Seconds a client may take to send a whole request body; a slower one is answered 408.
    body_timeout: float = Field(default=30.0, gt=0)
    # Addresses of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are
    # believed (comma-separated IPs or networks, "*" for any); empty: none.
    forwarded_allow_ips: str = ""
{%- if cookiecutter.use_observability %}
    # Prometheus metrics on a port of their own, never the API's; 0 turns the listener off.
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    # prometheus_client reads it from the environment itself; checked here so that a
    # directory that is missing stops the start instead of the first request.
    prometheus_multiproc_dir: str = ""
    otel_exporter_otlp_endpoint: str = ""
    otel_service_name: str = "{{ cookiecutter.project_slug }}"
    otel_traces_exporter: Literal["otlp", "console", "none"] = "otlp"
    sentry_dsn: str = ""
{%- endif %}

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None) -> Settings:
        """Build the settings from the files in SECRETS_DIR, then the environment, then
        ``overrides`` (each wins over the one before)."""
        values = secret_files(os.environ.get("SECRETS_DIR", ""), cls.model_fields)
        values.update(
            {
                key.lower(): value
                for key, value in os.environ.items()
                if key.lower() in cls.model_fields and value
            }
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
        return with_driver(value)
{%- endif %}

{%- if cookiecutter.database != "none" %}

    @model_validator(mode="after")
    def no_default_database_password(self) -> Settings:
        credentials = urlsplit(self.database_url).netloc.rpartition("@")[0]
        secret = unquote(credentials.partition(":")[2])
        if self.environment == "production" and secret.lower() in DEFAULT_PASSWORDS:
            raise ValueError(
                "DATABASE_URL holds a well-known default secret: production needs the database "
                "user's own"
            )
        return self
{%- endif %}

    @field_validator("cors_origins", mode="before")
    @classmethod
    def split_origins(cls, value: Any) -> Any:
        # Accept both spellings docs/api.md allows: a JSON list or comma-separated text.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value
{%- if cookiecutter.use_observability %}

    @field_validator("prometheus_multiproc_dir")
    @classmethod
    def existing_directory(cls, value: str) -> str:
        if value and not os.path.isdir(value):
            raise ValueError(f"{value!r} is not a directory (create it empty before the start)")
        return value

    @field_validator("otel_exporter_otlp_endpoint", "sentry_dsn")
    @classmethod
    def http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value
{%- endif %}

    @field_validator("log_level")
    @classmethod
    def known_level(cls, value: str) -> str:
        level = value.upper()
        if not isinstance(logging.getLevelNamesMapping().get(level), int):
            raise ValueError(f"unknown log level {value!r}")
        return level
{%- if cookiecutter.use_worker %}

    @field_validator("broker_url")
    @classmethod
    def supported_broker_url(cls, value: str) -> str:
        scheme, separator, _ = value.partition("://")
        if not separator or scheme not in ("redis", "rediss", "amqp", "amqps", "memory"):
            raise ValueError(
                "expected a URL like redis://localhost:6379/0 or amqp://guest:guest@localhost:5672//"
            )
        return value

    @field_validator("mail_from")
    @classmethod
    def has_an_address(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError(
                "expected an address like noreply@example.com or Name <noreply@example.com>"
            )
        return value
{%- endif %}

    @property
    def show_docs(self) -> bool:
        if self.docs_enabled is None:
            return self.environment != "production"
        return self.docs_enabled
{%- if cookiecutter.use_auth %}

    @field_validator("login_rate_limit")
    @classmethod
    def parsable_rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(
                f"expected `limits` notation such as 30/minute, not {value!r}"
            ) from None
        return value

    def refuse_unsafe_production(self) -> None:
        if self.environment != "production":
            return
        problem = weak_secret_reason(self.secret_key)
        if problem:
            raise ConfigError(
                f"SECRET_KEY {problem}: production needs a random key; {NEW_KEY_HINT}"
            )


def weak_secret_reason(key: str) -> str | None:
    """Why ``key`` cannot be a production secret (never quoting it), or None when it can."""
    if not key:
        return "is not set"
    if len(key) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(key)) < MIN_SECRET_DISTINCT_CHARACTERS:
        return f"has fewer than {MIN_SECRET_DISTINCT_CHARACTERS} different characters"
    lowered = key.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return "looks like a placeholder"
    return None
{%- endif %}


def secret_files(directory: str, names: Mapping[str, Any]) -> dict[str, Any]:
    """The settings held in ``directory``, one file per setting named after it (MAX_BODY_BYTES),
    as a mounted secret volume lays them out; read from the process environment only."""
    if not directory:
        return {}
    folder = Path(directory)
    if not folder.is_dir():
        raise ConfigError(f"Invalid settings: SECRETS_DIR: {directory!r} is not a directory")
    values: dict[str, Any] = {}
    for path in folder.iterdir():
        name = path.name.lower()
        if name in names and path.is_file():
            value = path.read_text(encoding="utf-8").strip()
            if value:
                values[name] = value
    return values


def _one_line(error: ValidationError) -> str:
    """pydantic's report, one ``SETTING: reason`` per problem, on one line."""
    problems = []
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]).upper() if item["loc"] else ""
        reason = item["msg"].removeprefix("Value error, ")
        # A check of the whole model names its settings itself.
        problems.append(f"{name}: {reason}" if item["loc"] else reason)
    return "Invalid settings: " + "; ".join(problems)


def current_settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings
