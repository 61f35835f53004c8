"""Shared fixtures.{% if cookiecutter.database != 'none' %}

The suite never touches the development database: it runs on TEST_DATABASE_URL when
set, else on DATABASE_URL's database with `_test` appended{% if cookiecutter.database == 'sqlite' %} (for SQLite: a temporary file){% endif %}.
The schema is built once per run by the migrations themselves, and every test runs in a
transaction that is rolled back, so tests never see each other's rows.
{% endif %}"""

{% if cookiecutter.database in ['postgresql', 'mysql'] -%}
import os
{% endif -%}
from collections.abc import AsyncIterator{% if cookiecutter.use_auth %}, Iterator{% endif %}{% if cookiecutter.database in ['postgresql', 'mysql'] %}, Mapping{% endif %}
{%- if cookiecutter.database != 'none' %}
from pathlib import Path
{%- endif %}

import pytest
{%- if cookiecutter.database != 'none' %}
from alembic import command
from alembic.config import Config
{%- endif %}
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
{%- if cookiecutter.use_auth %}
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
{%- endif %}
{%- if cookiecutter.database != 'none' %}
from sqlalchemy import Connection{% if cookiecutter.database != 'sqlite' %}, text{% endif %}
{%- if cookiecutter.database != 'sqlite' %}
from sqlalchemy.engine import URL, make_url
{%- endif %}
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
{%- endif %}

{% if cookiecutter.use_auth -%}
from {{ cookiecutter.project_slug }}.core import security
{% endif -%}
from {{ cookiecutter.project_slug }}.core.config import Settings{% if cookiecutter.database in ['postgresql', 'mysql'] %}, to_async_url{% endif %}
{%- if cookiecutter.database != 'none' %}
from {{ cookiecutter.project_slug }}.db.session import create_engine
{%- endif %}
from {{ cookiecutter.project_slug }}.main import create_app

TEST_SECRET_KEY = "test-only-secret-key-0123456789abcdef"
{%- if cookiecutter.database != 'none' %}
PROJECT_ROOT = Path(__file__).resolve().parents[1]
{%- endif %}


def make_settings(**overrides: object) -> Settings:
    """Settings for tests: explicit values, never the developer's `.env`."""
    values: dict[str, object] = {
        "secret_key": TEST_SECRET_KEY,
        "environment": "test",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]
{%- if cookiecutter.database == 'sqlite' %}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
{%- elif cookiecutter.database != 'none' %}


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


@pytest.fixture(scope="session")
def database_url() -> str:
    return choose_test_database_url(os.environ)
{%- endif %}
{%- if cookiecutter.database != 'none' %}


@pytest.fixture(scope="session")
def settings({% if cookiecutter.database != 'none' %}database_url: str{% endif %}) -> Settings:
    return make_settings(database_url=database_url)


def alembic_config(connection: Connection) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    # env.py runs on this connection instead of opening its own.
    config.attributes["connection"] = connection
    return config


def migrate_from_scratch(connection: Connection) -> None:
    config = alembic_config(connection)
    command.downgrade(config, "base")
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
{%- if cookiecutter.database != 'sqlite' %}
    await create_database_if_missing(settings.async_database_url)
{%- endif %}
    engine = create_engine(settings.async_database_url)
    # The migrations build the schema: this is the proof that `upgrade head` works.
    async with engine.begin() as connection:
        await connection.run_sync(migrate_from_scratch)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Each session's commit only releases a SAVEPOINT inside the test's transaction.
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    yield app
    await app.state.engine.dispose()
{%- else %}


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)
{%- endif %}


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client
{%- if cookiecutter.use_auth %}


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its lowest cost: the production parameters stay untouched in the package."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            security,
            "password_hash",
            PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),)),
        )
        security._dummy_hash.cache_clear()
        yield
    security._dummy_hash.cache_clear()


PASSWORD = "correct-horse"


async def _register(client: AsyncClient, email: str) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text


async def _login(client: AsyncClient, email: str) -> str:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _bearer(client: AsyncClient, email: str) -> dict[str, str]:
    await _register(client, email)
    return {"Authorization": f"Bearer {await _login(client, email)}"}


@pytest.fixture
async def auth_headers(client: AsyncClient) -> dict[str, str]:
    return await _bearer(client, "alice@example.com")


@pytest.fixture
async def other_auth_headers(client: AsyncClient) -> dict[str, str]:
    return await _bearer(client, "bob@example.com")
{%- endif %}
