"""Under concurrent load, on every database, no write is lost or doubled.

Each framework x database, with auth: the baked project started under its production
server with the documented worker count, then 2,000 creates from 64 concurrent clients,
then 10 seconds of mixed reads, updates and deletes from 32 clients. Every create must be
answered 201 and stored exactly once, `total` must agree, and nothing may answer 5xx or
fail to connect. The figures are printed; no timing is asserted.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import FRAMEWORKS, SERVER_DATABASES, bake
from tests.serving import documented_workers, serving

CREATES = 2_000
CREATE_CLIENTS = 64
MIXED_SECONDS = 10.0
MIXED_CLIENTS = 32
PAGE = 100


@dataclass
class Tally:
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def record(self, status: int, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(seconds)

    def figures(self) -> str:
        ordered = sorted(self.latencies) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"{len(self.latencies)} requests, statuses {dict(sorted(self.statuses.items()))}, "
            f"connection errors {len(self.errors)}, p50 {statistics.median(ordered) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms"
        )


async def timed(client: httpx.AsyncClient, tally: Tally, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TransportError as error:
        tally.errors.append(f"{method} {url}: {error!r}")
        return None
    tally.record(response.status_code, time.perf_counter() - started)
    return response


def client_for(base_url: str, headers: dict[str, str], clients: int) -> httpx.AsyncClient:
    """One connection per client, kept open between its requests."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, limits=limits)


async def create_all(base_url: str, headers: dict[str, str]) -> tuple[Tally, dict[str, int]]:
    """CREATES items from CREATE_CLIENTS clients; returns name -> id of every 201."""
    tally, created = Tally(), {}
    names = iter(f"load-{number:05d}" for number in range(CREATES))

    async def client_loop(client: httpx.AsyncClient) -> None:
        for name in names:
            response = await timed(client, tally, "POST", "/api/v1/items", json={"name": name})
            if response is not None and response.status_code == 201:
                created[name] = response.json()["id"]

    async with client_for(base_url, headers, CREATE_CLIENTS) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(CREATE_CLIENTS)))
    return tally, created


async def stored_items(base_url: str, headers: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """Every stored item, page by page, and the `total` the first page reported."""
    items: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        first = (await client.get("/api/v1/items", params={"limit": PAGE, "offset": 0})).json()
        total = first["total"]
        items += first["items"]
        for offset in range(PAGE, total, PAGE):
            page = await client.get("/api/v1/items", params={"limit": PAGE, "offset": offset})
            assert page.status_code == 200, page.text
            items += page.json()["items"]
    return items, total


async def mixed(base_url: str, headers: dict[str, str], ids: list[int]) -> tuple[Tally, set[int]]:
    """MIXED_SECONDS of reads, updates and deletes; returns the ids deleted with a 204."""
    tally, deleted = Tally(), set()
    deadline = time.monotonic() + MIXED_SECONDS
    rng = random.Random(7)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            item_id = rng.choice(ids)
            roll = rng.random()
            if roll < 0.4:
                await timed(client, tally, "GET", f"/api/v1/items/{item_id}")
            elif roll < 0.6:
                await timed(client, tally, "GET", "/api/v1/items", params={"limit": 20})
            elif roll < 0.85:
                await timed(client, tally, "PATCH", f"/api/v1/items/{item_id}", json={"description": "updated"})
            else:
                response = await timed(client, tally, "DELETE", f"/api/v1/items/{item_id}")
                if response is not None and response.status_code == 204:
                    assert item_id not in deleted, f"item {item_id} deleted twice"
                    deleted.add(item_id)

    async with client_for(base_url, headers, MIXED_CLIENTS) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(MIXED_CLIENTS)))
    return tally, deleted


def errors_in(log: str) -> str:
    """The server log's lines about failures (5xx answers, tracebacks), for the report."""
    lines = log.splitlines()
    marks = [n for n, line in enumerate(lines) if " 50" in line or "Traceback" in line or "ERROR" in line]
    shown = sorted({m for n in marks[:5] for m in range(n, min(n + 40, len(lines)))})
    return "\n".join(lines[m] for m in shown)[-8000:]


def token_headers(base_url: str) -> dict[str, str]:
    credentials = {"email": "load@example.com", "password": "load-test-password"}
    assert httpx.post(f"{base_url}/api/v1/auth/register", json=credentials, timeout=30).status_code == 201
    answer = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"username": credentials["email"], "password": credentials["password"]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.parametrize(("framework", "database"), list(product(FRAMEWORKS, ("sqlite", *SERVER_DATABASES))))
def test_no_write_lost_under_load(
    cookies: Any, tmp_path: Path, database_url: Any, framework: str, database: str
) -> None:
    baked = bake(cookies, framework, database=database, use_auth=True)
    settings = {"DATABASE_URL": database_url(database)} if database in SERVER_DATABASES else {}
    # This test is about writes under concurrency, not about timeouts (tests/test_db_faults.py):
    # on a CI machine shared with other tests, a starved database may take longer than the
    # default 5 s to answer, which the service would rightly turn into 503s.
    settings["DATABASE_TIMEOUT"] = "30"
    workers = documented_workers()
    with serving(baked, tmp_path / "server.log", settings, workers=workers) as base_url:
        headers = token_headers(base_url)
        create_tally, created = asyncio.run(create_all(base_url, headers))
        label = f"{framework}/{database}, {workers} workers"
        print(f"\n{label}, creates from {CREATE_CLIENTS} clients: {create_tally.figures()}")
        items, total = asyncio.run(stored_items(base_url, headers))
        stored = [item["name"] for item in items]
        print(f"{label}: stored {len(stored)} items, {len(set(stored))} distinct, total {total}")
        mixed_tally, deleted = asyncio.run(mixed(base_url, headers, sorted(created.values())))
        print(f"{label}, mixed from {MIXED_CLIENTS} clients for {MIXED_SECONDS:.0f} s: {mixed_tally.figures()}")
        _, total_after = asyncio.run(stored_items(base_url, headers))
    log = (tmp_path / "server.log").read_text()

    assert not create_tally.errors, create_tally.errors[:5]
    assert create_tally.statuses == {201: CREATES}, f"{create_tally.statuses}\n{errors_in(log)}"
    assert sorted(stored) == sorted(created), "stored items differ from the 201 answers"
    assert len(set(stored)) == len(stored) == total == CREATES

    assert not mixed_tally.errors, mixed_tally.errors[:5]
    server_errors = {status: count for status, count in mixed_tally.statuses.items() if status >= 500}
    assert not server_errors, f"{server_errors}\n{errors_in(log)}"
    assert set(mixed_tally.statuses) <= {200, 204, 404}, mixed_tally.statuses
    assert total_after == CREATES - len(deleted)
