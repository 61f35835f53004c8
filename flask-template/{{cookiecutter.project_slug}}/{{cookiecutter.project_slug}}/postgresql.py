"""What this project does because its database is PostgreSQL: the default URL,
the driver and the engine's options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from .config import Settings

DEFAULT_DATABASE_URL = "postgresql://postgres@localhost:5432/{{ cookiecutter.project_slug }}"
MIGRATE_OPTIONS: dict[str, Any] = {}
# timestamptz keeps the offset.
TIMESTAMP = DateTime(timezone=True)
KEEPS_OFFSET = True
# What `flask db upgrade` adds when it cannot connect.
MISSING_DATABASE_HINT = (
    "Is the server up, and was the database created (createdb -h HOST -U USER {database})?"
)
# Seconds to wait for the database before giving up (the health check relies on it).
CONNECT_TIMEOUT = 3

# The schemes DATABASE_URL may use, each with the driver this project installs.
DRIVER_SCHEMES = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


def with_driver(url: str) -> str:
    """``url`` with the installed driver; else a ValueError that says what to write."""
    scheme, separator, rest = url.partition("://")
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        separator = ""
    if scheme not in DRIVER_SCHEMES or not separator or not rest:
        raise ValueError(
            "expected a URL like postgresql://user@host:5432/name "
            "(postgres://, postgresql:// or postgresql+psycopg:// schemes)"
        )
    # Users and platforms hand out plain URLs; the project picks the driver it ships with.
    return f"{DRIVER_SCHEMES[scheme]}://{rest}"


def engine_options(settings: Settings) -> dict[str, Any]:
    """Every option the engine is built with."""
    # pre_ping drops connections that died while the database was away.
    return {"pool_pre_ping": True, "connect_args": {"connect_timeout": CONNECT_TIMEOUT}}
