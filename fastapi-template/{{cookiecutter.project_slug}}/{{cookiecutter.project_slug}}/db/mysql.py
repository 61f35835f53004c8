"""MySQL and MariaDB, through asyncmy."""

from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

DEFAULT_URL = "mysql://root@localhost:3306/{{ cookiecutter.project_slug }}"
# The secrets of tutorials and of the official images' examples: production refuses them.
DEFAULT_PASSWORDS = frozenset({"root", "mysql", "mariadb", "changeme"})
# Plain schemes people write (and hosting platforms hand out) -> the async driver we install.
DRIVERS = {"mysql": "mysql+asyncmy", "mariadb": "mysql+asyncmy"}
URL_FORMS = "mysql://user:pass@host:3306/name (or mariadb://)"
# Connecting when no DATABASE_TIMEOUT applies (migrations).
DEFAULT_CONNECT_TIMEOUT = 10
# Reads keep the driver's implicit transaction: switching asyncmy to autocommit and back
# costs a `SET autocommit` round trip each way, more than the COMMIT it saves.
READ_OPTIONS: dict[str, Any] = {}


def finish_url(url: URL) -> URL:
    # utf8mb4: MySQL's "utf8" cannot store characters outside the BMP, emoji for one.
    if "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


def engine_options(timeout: float | None) -> dict[str, Any]:
    return {"connect_args": _connect_args(timeout)}


def _connect_args(timeout: float | None) -> dict[str, Any]:
    if timeout is None:
        # Migrations: a long ALTER TABLE is not a fault.
        return {"connect_timeout": DEFAULT_CONNECT_TIMEOUT}
    # The driver takes whole seconds; `read_timeout` bounds the wait for every answer, so
    # it holds even when the server stops answering altogether.
    seconds = max(1, round(timeout))
    return {"connect_timeout": seconds, "read_timeout": seconds}


def prepare(engine: AsyncEngine) -> None:
    """Nothing to tune: asyncmy's defaults suit MySQL and MariaDB."""
