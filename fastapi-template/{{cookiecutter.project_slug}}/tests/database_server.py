"""The test database on the database server: TEST_DATABASE_URL, else the development
database's name with `_test` appended, created when missing; never the development one."""

import os
from collections.abc import Mapping

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from {{ cookiecutter.project_slug }}.core.config import Settings, to_async_url
from {{ cookiecutter.project_slug }}.db.session import create_engine

# Names that reach this machine's server: the same database whichever is written.
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})


def same_database(first: str, second: str) -> bool:
    def target(raw: str) -> tuple[str, int | None, str | None]:
        url = to_async_url(raw)
        host = url.host or ""
        return ("localhost" if host in LOCAL_HOSTS else host), url.port, url.database

    # A missing port is the default one.
    (host, port, name), (other_host, other_port, other_name) = target(first), target(second)
    ports_match = port == other_port or None in (port, other_port)
    return host == other_host and ports_match and name == other_name


def choose_test_database_url(environ: Mapping[str, str]) -> str:
    """TEST_DATABASE_URL, else the development database's name + `_test`; never the latter."""
    development = Settings(environment="test").database_url
    chosen = environ.get("TEST_DATABASE_URL")
    if not chosen:
        url = make_url(development)
        chosen = url.set(database=f"{url.database}_test").render_as_string(False)
    if same_database(chosen, development):
        # The session downgrades the test database to nothing: that would wipe real data.
        pytest.exit(
            "TEST_DATABASE_URL names the DATABASE_URL database; the tests empty the "
            "database they run on, so point TEST_DATABASE_URL at another one",
            returncode=4,
        )
    return chosen


@pytest.fixture(scope="session")
def database_url() -> str:
    return choose_test_database_url(os.environ)


async def create_database_if_missing(url: URL) -> None:
    name = url.database
    assert name
{%- if cookiecutter.database == 'postgresql' %}
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
{%- else %}
    # information_schema is there on every server and open to every user.
    server = create_engine(url.set(database="information_schema"), isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as connection:
            await connection.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}`"))
{%- endif %}
    finally:
        await server.dispose()
