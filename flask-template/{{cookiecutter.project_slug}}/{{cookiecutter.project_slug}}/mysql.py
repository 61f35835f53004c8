"""What this project does because its database is MySQL or MariaDB: the default
URL, the driver and the engine's options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, make_url
from sqlalchemy.dialects.mysql import DATETIME
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from .config import Settings

DEFAULT_DATABASE_URL = "mysql://root@localhost:3306/{{ cookiecutter.project_slug }}"
# The secrets of tutorials and of the official images' examples: production refuses them.
DEFAULT_PASSWORDS = frozenset({"root", "mysql", "mariadb", "changeme"})
MIGRATE_OPTIONS: dict[str, Any] = {}
# How a transaction that may write begins (the driver runs in autocommit mode).
BEGIN_WRITING = "BEGIN"
# MySQL keeps no offset and, by default, no microseconds: naive UTC with 6 digits.
TIMESTAMP = DATETIME(fsp=6)
KEEPS_OFFSET = False
# What `flask db upgrade` adds when it cannot connect.
MISSING_DATABASE_HINT = (
    "Is the server up, and was the database created (mysql -e 'CREATE DATABASE {database}')?"
)
# The schemes DATABASE_URL may use, each with the driver this project installs.
DRIVER_SCHEMES = {
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "mysql+pymysql": "mysql+pymysql",
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
            "expected a URL like mysql://user@host:3306/name "
            "(mysql://, mariadb:// or mysql+pymysql:// schemes)"
        )
    # Users and platforms hand out plain URLs; the project picks the driver it ships with.
    return f"{DRIVER_SCHEMES[scheme]}://{rest}"


def engine_options(settings: Settings) -> dict[str, Any]:
    """The driver's options: every wait on the server (connecting, sending, each answer)
    ends after DATABASE_TIMEOUT, measured in the client, so it holds even when the server
    stops answering altogether."""
    timeout = settings.database_timeout
    return {
        "connect_args": {
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "write_timeout": timeout,
        },
        # No transaction of the driver's own: transactions begin where extensions.py says.
        "isolation_level": "AUTOCOMMIT",
    }


def listen(engine: Engine) -> None:
    """Nothing to set up on ``engine``'s connections: the driver's options (above) say it all."""
