"""Typed settings, read from the environment, then from `.env` in the working directory."""

import contextlib
import json
import os
import signal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn
{%- if cookiecutter.database != 'none' %}
from urllib.parse import unquote, urlsplit
{%- endif %}

from pydantic import (
    Field,
{%- if cookiecutter.use_auth %}
    PrivateAttr,
{%- endif %}
    ValidationError,
    field_validator,
{%- if cookiecutter.use_auth or cookiecutter.database != 'none' %}
    model_validator,
{%- endif %}
)
{%- if cookiecutter.database != 'none' or cookiecutter.use_observability %}
from pydantic_core import PydanticCustomError
{%- endif %}
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
{%- if cookiecutter.database != 'none' %}
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from {{ cookiecutter.project_slug }}.db import {{ cookiecutter.database }} as dialect
{%- endif %}

{% if cookiecutter.database != 'none' -%}
ACCEPTED_SCHEMES = frozenset(dialect.DRIVERS) | frozenset(dialect.DRIVERS.values())

{% endif -%}
Environment = Literal["development", "test", "production"]
LogLevel = Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]
{%- if cookiecutter.use_auth %}

MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT_CHARACTERS = 10
# Words that show up in examples and tutorials: a key containing one was not generated.
PLACEHOLDER_WORDS = ("change", "example", "placeholder", "secret", "password", "replace", "your")
NEW_KEY_HINT = 'generate one with: python -c "import os; print(os.urandom(32).hex())"'


def weak_secret_reason(key: str) -> str | None:
    """Why `key` cannot be a production secret, or None when it can."""
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


class Settings(BaseSettings):
    # Empty values (`DOCS_ENABLED=` in .env) mean "use the default".
    # Errors never repeat the values: some settings hold secrets.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        hide_input_in_errors=True,
    )
{% if cookiecutter.database != 'none' %}
    database_url: str = dialect.DEFAULT_URL
    # Seconds any wait on the database may take (connecting, a statement, a lock) before
    # the request answers 503.
    database_timeout: float = Field(default=5.0, gt=0)
    # Per worker process: workers x (pool size + overflow) must stay under the database
    # server's connection limit.
    database_pool_size: int = Field(default=5, ge=1)
    database_max_overflow: int = Field(default=5, ge=0)
    # Waiting for a free connection under a burst is queueing, not a fault: the requests
    # holding the connections are bounded by DATABASE_TIMEOUT.
    database_pool_timeout: float = Field(default=10.0, gt=0)
    database_pool_recycle: int = Field(default=1800, ge=-1)
    database_pool_pre_ping: bool = False
{%- endif %}
    cors_origins: Annotated[list[str], NoDecode] = []
    environment: Environment = "development"
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"
    # None means "on, except in production".
    docs_enabled: bool | None = None
    # Bytes; a larger request body is answered 413 without being read.
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # Seconds a client may take to send a whole request body; a slower one is answered 408.
    body_timeout: float = Field(default=30.0, gt=0)
    # Addresses of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are
    # believed (comma-separated IPs or networks, "*" for any); empty: none.
    forwarded_allow_ips: str = ""
{%- if cookiecutter.use_auth %}
    secret_key: str = ""
    # True when SECRET_KEY was not set and a random one was made (never in production);
    # create_app (main.py) says so once the log handlers exist, in the configured format.
    _random_secret_key: bool = PrivateAttr(default=False)
    access_token_expire_minutes: int = Field(default=30, gt=0)
    # Attempts at login and registration per client address (and at login per email), in
    # the notation of the limits library: "30/minute", "5/second;100/hour".
    login_rate_limit: str = "30/minute"
    # redis://host:6379/0 to share the attempt counters between processes; empty: in memory.
    redis_url: str = ""

    @model_validator(mode="after")
    def _check_secret_key(self) -> "Settings":
        key = self.secret_key.strip()
        if self.environment == "production":
            problem = weak_secret_reason(key)
            if problem:
                raise PydanticCustomError(
                    "secret_key",
                    "SECRET_KEY {problem}: production needs a random key; {hint}",
                    {"problem": problem, "hint": NEW_KEY_HINT},
                )
        elif not key:
            # A key that dies with the process is fine outside production.
            self.secret_key = os.urandom(32).hex()
            self._random_secret_key = True
        return self

    @property
    def signing_key(self) -> str:
        return self.secret_key

    @property
    def random_secret_key(self) -> bool:
        return self._random_secret_key

    @field_validator("login_rate_limit")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        # Only this check needs the parser of rate strings.
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise PydanticCustomError(
                "login_rate_limit",
                'not a rate; write it as "30/minute", or several as "5/second;100/hour"',
            ) from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://")):
            raise PydanticCustomError(
                "redis_url", "not a Redis URL; write it as redis://host:6379/0 (or rediss://)"
            )
        return value
{%- endif %}
{%- if cookiecutter.use_observability %}

    # The Prometheus metrics listener's port, apart from the API's; 0: no metrics.
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    # prometheus_client's own variable, which it reads from the process environment only:
    # an empty directory shared by the worker processes, so that a scrape sums them all.
    prometheus_multiproc_dir: str = ""
    # The standard OpenTelemetry variables; no endpoint: no spans are made.
    otel_exporter_otlp_endpoint: str = ""
    otel_service_name: str = "{{ cookiecutter.project_slug }}"
    otel_traces_exporter: Literal["otlp", "console", "none"] = "otlp"
    # Empty: no Sentry.
    sentry_dsn: str = ""

    @field_validator("prometheus_multiproc_dir")
    @classmethod
    def _check_multiproc_dir(cls, value: str) -> str:
        if not value:
            return value
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR") != value:
            raise PydanticCustomError(
                "prometheus_multiproc_dir",
                "prometheus_client reads it from the environment only: export it, not in .env",
            )
        # Missing is fine (the service creates it; commands other than the server never need
        # it), but not something else in its place.
        if os.path.exists(value) and not os.path.isdir(value):
            raise PydanticCustomError(
                "prometheus_multiproc_dir", "not a directory; name an empty directory"
            )
        return value

    @field_validator("otel_exporter_otlp_endpoint")
    @classmethod
    def _check_otlp_endpoint(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise PydanticCustomError(
                "otel_exporter_otlp_endpoint",
                "not an OTLP/HTTP endpoint; write it as http://collector:4318",
            )
        return value

    @field_validator("sentry_dsn")
    @classmethod
    def _check_sentry_dsn(cls, value: str) -> str:
        from sentry_sdk.utils import BadDsn, Dsn

        if value:
            try:
                Dsn(value)
            except BadDsn:
                raise PydanticCustomError(
                    "sentry_dsn", "not a Sentry DSN; copy it from the project's settings"
                ) from None
        return value
{%- endif %}

{%- if cookiecutter.use_worker %}

    # The Celery broker: redis://host:6379/0, or amqp://user:pass@host:5672// for RabbitMQ.
    broker_url: str = "redis://localhost:6379/0"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    # Seconds any wait on the mail server may take (connecting, each reply).
    smtp_timeout: float = Field(default=10.0, gt=0)
    mail_from: str = "noreply@localhost"
    # How often the worker's beat looks for outbox rows that are still unsent.
    outbox_drain_seconds: float = Field(default=30.0, gt=0)

    @field_validator("broker_url")
    @classmethod
    def _check_broker_url(cls, value: str) -> str:
        # Redis and RabbitMQ, the brokers the worker is tested with; memory:// keeps the
        # jobs inside the publishing process (tests only).
        schemes = ("redis://", "rediss://", "amqp://", "amqps://", "pyamqp://", "memory://")
        if not value.startswith(schemes):
            raise PydanticCustomError(
                "broker_url",
                "not a broker URL; write it as redis://host:6379/0 or amqp://user:pass@host:5672//",
            )
        return value

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        # "noreply@example.com" or "Name <noreply@example.com>"; never a header break.
        address = value.rsplit("<", 1)[-1].removesuffix(">")
        local, _, domain = address.rpartition("@")
        if not local or not domain or " " in address or any(c in value for c in "\r\n"):
            raise PydanticCustomError(
                "mail_from", "not an email address; write it as noreply@example.com"
            )
        return value
{%- endif %}

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value
{%- if cookiecutter.database != 'none' %}

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            url = None
        if url is None or url.drivername not in ACCEPTED_SCHEMES:
            raise PydanticCustomError(
                "database_url",
                "not a URL this project can use; write it as {forms}",
                {"forms": dialect.URL_FORMS},
            )
        return value
{%- endif %}

{%- if cookiecutter.database != 'none' %}

    @model_validator(mode="after")
    def _check_database_password(self) -> "Settings":
        credentials = urlsplit(self.database_url).netloc.rpartition("@")[0]
        secret = unquote(credentials.partition(":")[2])
        if self.environment == "production" and secret.lower() in dialect.DEFAULT_PASSWORDS:
            raise PydanticCustomError(
                "database_url",
                "DATABASE_URL holds a well-known default secret: production needs the database "
                "user's own",
            )
        return self
{%- endif %}

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

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
    drivername = dialect.DRIVERS.get(url.drivername, url.drivername)
    return dialect.finish_url(url.set(drivername=drivername))
{%- endif %}


class ConfigError(Exception):
    """Settings that cannot work; the message is one line, fit for an operator."""


def describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        # Field errors get the variable's name; the model-wide check names it itself.
        name = "_".join(str(part) for part in item["loc"]).upper()
        parts.append(f"{name}: {item['msg']}" if name else item["msg"])
    return "invalid settings: " + "; ".join(parts)


@lru_cache
def get_settings() -> Settings:
    # SECRETS_DIR: a directory of files named after settings (MAX_BODY_BYTES, ...), each holding
    # its value, as a mounted secret volume lays them out; read from the process environment
    # only. The environment and `.env` win over these files.
    secrets_dir = os.environ.get("SECRETS_DIR") or None
    if secrets_dir is not None and not os.path.isdir(secrets_dir):
        raise ConfigError(f"invalid settings: SECRETS_DIR: {secrets_dir!r} is not a directory")
    try:
        return Settings(_secrets_dir=secrets_dir)
    except ValidationError as error:
        raise ConfigError(describe(error)) from None


def get_settings_or_exit() -> Settings:
    """For entry points: the operator gets one line, not a traceback."""
    try:
        return get_settings()
    except ConfigError as error:
        raise SystemExit(str(error)) from None


def stop_serving(error: ConfigError) -> NoReturn:
    """Leave a server process with one line for the operator. Under granian, whose main process
    respawns a worker that exits (README, "Deployment"), the worker stops the whole server too:
    a bad setting does not mend itself, and a worker that fails at each start never serves."""
    with contextlib.suppress(OSError):
        if b"granian" in Path(f"/proc/{os.getppid()}/cmdline").read_bytes():
            os.kill(os.getppid(), signal.SIGTERM)
    raise SystemExit(str(error)) from None
