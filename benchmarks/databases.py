"""Private databases on the shared PostgreSQL server of the tests (``TEMPLATE_TEST_POSTGRES_URL``,
see tests/baking.py), all named ``bench_<random>_<n>`` and dropped at the end."""

from __future__ import annotations

import secrets

from tests.baking import SERVER_URLS, connect, server_problem

POSTGRES_URL = SERVER_URLS["postgresql"]


class Postgres:
    def __init__(self) -> None:
        self.prefix = f"bench_{secrets.token_hex(4)}"
        self.made: list[str] = []

    def problem(self) -> str | None:
        return server_problem("postgresql")

    def version(self) -> str:
        with connect("postgresql") as connection:
            return str(connection.execute("SHOW server_version").fetchone()[0])

    def create(self) -> str:
        name = f"{self.prefix}_{len(self.made)}"
        with connect("postgresql") as connection:
            connection.execute(f"CREATE DATABASE {name}")
        self.made.append(name)
        return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"

    def drop_all(self) -> None:
        if not self.made:
            return
        with connect("postgresql") as connection:
            for name in self.made:
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.made.clear()
