"""Both templates, baked with the same options and started as their READMEs say,
answer every line of the HTTP contract over real HTTP, with the same status
codes and JSON shapes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import SERVER_DATABASES, Baked, bake
from tests.contract import PASSWORDS, Exchange, comparable, walk
from tests.serving import secret_key, serving

OPTIONS = [
    pytest.param("sqlite", True, id="sqlite-auth"),
    pytest.param("postgresql", True, id="postgresql-auth"),
    pytest.param("mysql", True, id="mysql-auth"),
    pytest.param("sqlite", False, id="sqlite-noauth"),
    pytest.param("none", False, id="nodb"),
]
SECRETS_IN_LOGS = (*PASSWORDS, "$argon2")


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
