"""Fixtures: throwaway databases on the real servers, and a mypy cache per worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.baking import SERVER_URLS, connect, require_server

# Files a user writes into a baked project (tests/test_add_resource.py), not tests of this suite.
collect_ignore = ["add_resource"]


@pytest.fixture
def database_url() -> Iterator[Any]:
    """A factory: ``database_url(kind)`` creates an empty database on the real
    server and returns its plain URL; every database made is dropped afterwards."""
    made: list[tuple[str, str]] = []

    def create(kind: str) -> str:
        require_server(kind)
        name = f"tpl_{uuid.uuid4().hex[:12]}"
        with connect(kind) as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        made.append((kind, name))
        base = SERVER_URLS[kind].rsplit("/", 1)[0]
        return f"{base}/{name}"

    yield create
    for kind, name in made:
        with connect(kind) as connection, connection.cursor() as cursor:
            force = " WITH (FORCE)" if kind == "postgresql" else ""
            cursor.execute(f"DROP DATABASE IF EXISTS {name}{force}")


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache per xdist worker: the libraries are analysed once, not per bake."""
    return tmp_path_factory.mktemp("mypy-cache")
