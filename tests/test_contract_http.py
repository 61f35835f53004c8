"""Both templates, baked with the same options and started as their READMEs say,
answer every line of the HTTP contract over real HTTP, with the same status
codes and JSON shapes."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import SERVER_DATABASES, Baked, bake, project_env, run
from tests.contract import PASSWORDS, Exchange, comparable, walk

OPTIONS = [
    pytest.param("sqlite", True, id="sqlite-auth"),
    pytest.param("postgresql", True, id="postgresql-auth"),
    pytest.param("mysql", True, id="mysql-auth"),
    pytest.param("sqlite", False, id="sqlite-noauth"),
    pytest.param("none", False, id="nodb"),
]
SECRETS_IN_LOGS = (*PASSWORDS, "$argon2")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def commands(baked: Baked, port: int) -> tuple[list[str] | None, list[str]]:
    """(schema command, server command) as the project's README gives them."""
    slug, has_db = baked.slug, baked.context["database"] != "none"
    bind = ["--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    if baked.framework == "fastapi":
        migrate = ["alembic", "upgrade", "head"]
        serve = ["granian", "--interface", "asgi", *bind, f"{slug}.main:app"]
    else:
        migrate = ["flask", "--app", slug, "db", "upgrade"]
        serve = ["granian", "--interface", "wsgi", *bind, "--blocking-threads", "8", f"{slug}.wsgi:app"]
    return (migrate if has_db else None), serve


@contextmanager
def serving(baked: Baked, log: Path, settings: dict[str, str]) -> Iterator[str]:
    port = free_port()
    migrate, serve = commands(baked, port)
    env = project_env(**settings)
    if migrate:
        run(migrate, baked.path, env)
    with log.open("w") as out:
        process = subprocess.Popen(serve, cwd=baked.path, env=env, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"{' '.join(serve)} exited:\n{log.read_text()}"
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{' '.join(serve)} did not answer within 60 s:\n{log.read_text()}"
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def secret_key(baked: Baked) -> str:
    for line in (baked.path / ".env").read_text().splitlines():
        if line.startswith("SECRET_KEY="):
            return line.removeprefix("SECRET_KEY=")
    raise AssertionError(".env has no SECRET_KEY")


def exercise(baked: Baked, tmp_path: Path, settings: dict[str, str]) -> list[Exchange]:
    log = tmp_path / f"{baked.framework}.log"
    with serving(baked, log, settings) as base_url:
        exchanges = walk(
            base_url,
            database=baked.context["database"] != "none",
            use_auth=bool(baked.context["use_auth"]),
            secret_key=secret_key(baked) if baked.context["use_auth"] else None,
        )
        openapi = httpx.get(f"{base_url}/openapi.json", timeout=10)
    text = log.read_text()
    assert re.search(r"GET\b.*/health\b.*\b200\b", text), f"{baked.framework}: no request log line:\n{text}"
    leaked = [word for word in SECRETS_IN_LOGS if word in text]
    assert not leaked, f"{baked.framework} logged a password or hash: {leaked}"
    if baked.framework == "fastapi" or openapi.status_code != 404:
        assert openapi.status_code == 200 and openapi.json()["openapi"].startswith("3.")
    return exchanges


@pytest.mark.slow
@pytest.mark.parametrize(("database", "use_auth"), OPTIONS)
def test_same_contract_over_http(
    cookies: Any, tmp_path: Path, database_url: Any, database: str, use_auth: bool
) -> None:
    answers = {"database": database, "use_auth": use_auth}

    def settings() -> dict[str, str]:
        """A database of its own for each service on a server; SQLite's file is the default."""
        return {"DATABASE_URL": database_url(database)} if database in SERVER_DATABASES else {}

    fastapi = exercise(bake(cookies, "fastapi", **answers), tmp_path, settings())
    flask = exercise(bake(cookies, "flask", **answers), tmp_path, settings())
    assert [e.label for e in fastapi] == [e.label for e in flask]
    differences = [
        f"{a.label}:\n  fastapi {comparable(a)}\n  flask   {comparable(b)}"
        for a, b in zip(fastapi, flask, strict=True)
        if comparable(a) != comparable(b)
    ]
    assert not differences, "the services disagree:\n" + "\n".join(differences)
