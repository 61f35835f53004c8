"""The SQLite test database: a file in a temporary folder of its own, new for each run."""

import pytest
from sqlalchemy.engine import URL


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


async def create_database_if_missing(url: URL) -> None:
    """Nothing to do: SQLite creates the file when it first connects."""
