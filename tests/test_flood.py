"""A login flood against each service under its production server: 64 clients sending
wrong passwords for a few seconds. `/health` keeps answering (each probe within a bound
far above its usual time, so only a starved service fails; the times are printed), the
processes' memory stays
bounded (each Argon2 hash takes 64 MiB, and hashing is bounded per process), and the flood
is answered 429 once LOGIN_RATE_LIMIT is spent."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import FRAMEWORKS, bake
from tests.private_servers import _children
from tests.serving import SERVER_PIDS, documented_workers, serving

CLIENTS = 64
SECONDS = 5.0
MiB = 1024 * 1024
# Generous: one Argon2 hash per core per worker is 64 MiB each; unbounded, 64 concurrent
# logins took 2 GiB.
MAX_GROWTH = 768 * MiB
# A bound on each /health probe's wait, not a measure of it (a busy CI machine is slow).
HEALTH_BOUND = 20.0


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
        pending += _children(current)
    return total


async def flood(base_url: str, server_pid: int) -> dict[str, Any]:
    statuses: dict[int, int] = {}
    health: list[float] = []
    peak = tree_rss(server_pid)
    deadline = time.monotonic() + SECONDS
    limits = httpx.Limits(max_connections=CLIENTS)

    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def attacker(number: int) -> None:
            while time.monotonic() < deadline:
                form = {"username": "victim@example.com", "password": f"wrong-{number}-{time.monotonic()}"}
                response = await client.post("/api/v1/auth/token", data=form)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        async def prober() -> None:
            nonlocal peak
            while time.monotonic() < deadline:
                started = time.monotonic()
                # A connection of its own: the attackers' pool must not delay the probe.
                async with httpx.AsyncClient(base_url=base_url, timeout=HEALTH_BOUND) as own:
                    try:
                        response = await own.get("/health")
                    except httpx.TimeoutException:
                        raise AssertionError(f"/health did not answer within {HEALTH_BOUND:.0f} s") from None
                assert response.status_code == 200, response.text
                health.append(time.monotonic() - started)
                peak = max(peak, tree_rss(server_pid))
                await asyncio.sleep(0.1)

        await asyncio.gather(prober(), *(attacker(number) for number in range(CLIENTS)))
    return {"statuses": statuses, "health": health, "peak": peak}


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_login_flood(cookies: Any, tmp_path: Path, framework: str) -> None:
    baked = bake(cookies, framework, database="sqlite", use_auth=True)
    with serving(baked, tmp_path / "server.log", {}, workers=documented_workers()) as base_url:
        credentials = {"email": "victim@example.com", "password": "the-right-password"}
        assert httpx.post(f"{base_url}/api/v1/auth/register", json=credentials, timeout=30).status_code == 201
        server_pid = SERVER_PIDS[base_url]
        before = tree_rss(server_pid)
        result = asyncio.run(flood(base_url, server_pid))
    health = sorted(result["health"])
    growth = result["peak"] - before
    print(
        f"\n{framework}: {sum(result['statuses'].values())} logins from {CLIENTS} clients in {SECONDS:.0f} s, "
        f"statuses {dict(sorted(result['statuses'].items()))}; /health {len(health)} probes, "
        f"median {health[len(health) // 2] * 1000:.0f} ms, max {health[-1] * 1000:.0f} ms; "
        f"memory {before / MiB:.0f} MiB -> peak {result['peak'] / MiB:.0f} MiB"
    )
    assert result["statuses"].get(429, 0) > 0, result["statuses"]
    assert set(result["statuses"]) <= {401, 429, 503}, result["statuses"]
    assert growth < MAX_GROWTH, f"memory grew by {growth / MiB:.0f} MiB"
    assert health, "no /health probe answered during the flood"
