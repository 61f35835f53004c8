"""The SQLite test database: a file in a temporary folder of its own, new for each run."""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    # A plain temporary folder rather than pytest's tmp_path: pytest would first sweep
    # its older runs' folders, which can take longer than this whole suite.
    with tempfile.TemporaryDirectory(prefix="test-database-") as folder:
        yield f"sqlite:///{Path(folder) / 'test.db'}"


async def create_database_if_missing(url: URL) -> None:
    """Nothing to do: SQLite creates the file when it first connects."""
