"""A sick database, on a private server of the test's own: frozen (SIGSTOP), stopped, and
started again. Every route answers 503 with `Retry-After` (each answer's time is printed
beside DATABASE_TIMEOUT; a route that hangs fails at the client's bound), `/health` says
the database is unreachable, the service recovers without a restart, and nothing committed
is lost."""

from __future__ import annotations

import time
from itertools import product
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import FRAMEWORKS, bake, missing
from tests.private_servers import mariadb_available, postgres_available, private_mariadb, private_postgres
from tests.serving import serving

TIMEOUT = 2.0
# A bound on each wait, not a measure: far above DATABASE_TIMEOUT, so that only a route
# that hangs fails on a busy machine. The times taken are printed.
BOUND = 60.0
CREDENTIALS = {"email": "fault@example.com", "password": "fault-test-password"}


def calls(item_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", "/api/v1/items", None),
        ("GET", f"/api/v1/items/{item_id}", None),
        ("POST", "/api/v1/items", {"name": "during the fault"}),
        ("GET", "/api/v1/users/me", None),
    ]


def answers_503(client: httpx.Client, item_id: int, what: str) -> list[str]:
    """Each route's answer during the fault; returns the problems found."""
    problems = []
    for method, path, body in calls(item_id):
        started = time.monotonic()
        try:
            response = client.request(method, path, json=body, timeout=BOUND)
        except httpx.TransportError as error:
            problems.append(f"{what}: {method} {path}: no answer within {BOUND:.0f} s ({error!r})")
            continue
        took = time.monotonic() - started
        print(f"{what}: {method} {path} -> {response.status_code} in {took:.2f} s (DATABASE_TIMEOUT {TIMEOUT} s)")
        if response.status_code != 503 or response.json() != {"detail": "Service Unavailable"}:
            problems.append(f"{what}: {method} {path}: {response.status_code} {response.text[:200]}")
        elif "retry-after" not in response.headers:
            problems.append(f"{what}: {method} {path}: 503 without Retry-After")
    # /health reuses its last database probe for up to a second: ask until it sees the
    # fault, within the same bound as every other wait (the time taken is printed).
    started = time.monotonic()
    while (health := client.get("/health")).status_code == 200 and time.monotonic() - started < BOUND:
        time.sleep(0.1)
    print(f"{what}: /health -> {health.status_code} after {time.monotonic() - started:.2f} s")
    if health.status_code != 503 or health.json() != {"status": "unavailable", "database": "unreachable"}:
        problems.append(f"{what}: /health {health.status_code} {health.text[:200]}")
    return problems


def recovered(client: httpx.Client, expected_names: set[str]) -> None:
    """Within a few seconds of the database's return, everything answers as before."""
    deadline = time.monotonic() + 30
    while client.get("/health").status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover within 30 s"
        time.sleep(0.5)
    listing = client.get("/api/v1/items", params={"limit": 100})
    assert listing.status_code == 200, listing.text
    names = {item["name"] for item in listing.json()["items"]}
    assert expected_names <= names, f"lost: {expected_names - names}"


SERVERS = {"postgresql": (postgres_available, private_postgres), "mysql": (mariadb_available, private_mariadb)}


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "database"), list(product(FRAMEWORKS, SERVERS)))
def test_frozen_stopped_and_restarted_database(cookies: Any, tmp_path: Path, framework: str, database: str) -> None:
    available, private_server = SERVERS[database]
    reason = available()
    if reason:
        missing(reason)
    baked = bake(cookies, framework, database=database, use_auth=True)
    with private_server() as server:
        settings = {"DATABASE_URL": server.url, "DATABASE_TIMEOUT": str(TIMEOUT)}
        with serving(baked, tmp_path / "server.log", settings) as base_url:
            assert httpx.post(f"{base_url}/api/v1/auth/register", json=CREDENTIALS, timeout=30).status_code == 201
            token = httpx.post(
                f"{base_url}/api/v1/auth/token",
                data={"username": CREDENTIALS["email"], "password": CREDENTIALS["password"]},
                timeout=30,
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
                committed = {f"kept-{number}" for number in range(5)}
                ids = [client.post("/api/v1/items", json={"name": name}).json()["id"] for name in sorted(committed)]

                server.freeze()
                try:
                    problems = answers_503(client, ids[0], "frozen")
                finally:
                    server.thaw()
                recovered(client, committed)

                server.shut_down()
                problems += answers_503(client, ids[0], "stopped")
                server.start_again()
                recovered(client, committed)

                after = client.post("/api/v1/items", json={"name": "after the faults"})
                assert after.status_code == 201, after.text
        log = (tmp_path / "server.log").read_text()
    assert not problems, "\n".join(problems) + "\n" + log[-3000:]
    assert "fault-test-password" not in log and "fault@example.com" not in log, "the log shows SQL parameters"
