"""Driving load with wrk, and what a server uses meanwhile: the peak resident memory of a
worker and the CPU time of the server's processes per request answered."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from benchmarks.processes import bounded
from benchmarks.servers import Served

SLOW_CLIENT_BOUND_SECONDS = 3.0
WRK_TIMEOUT = "10s"
SEED_ITEMS = 20


def server_processes(pid: int) -> list[Any]:
    """The server's processes: the supervisor and its workers (or the one process)."""
    import psutil  # type: ignore[import-untyped]  # checked for by benchmarks.cli.check_tools

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def cpu_seconds(pids: Sequence[int]) -> float:
    """User and system CPU time used so far by the servers ``pids`` and all their processes."""
    import psutil

    total = 0.0
    for pid in pids:
        for process in server_processes(pid):
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
    return total


class PeakMemory:
    """Samples the resident memory of the servers' workers while a load runs."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = pids
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for pid in self.pids:
                # The processes that serve requests: the supervisor's children, or the one process.
                processes = server_processes(pid)
                for process in processes[1:] or processes:
                    with contextlib.suppress(psutil.Error):
                        self.peak = max(self.peak, process.memory_info().rss)
            self._stop.wait(0.1)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


WRK_REPORT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def wrk_script(work: Path, method: str = "GET", body: str | None = None, token: str | None = None) -> Path:
    lines = [f"wrk.method = {lua_string(method)}"]
    if body is not None:
        lines += [f"wrk.body = {lua_string(body)}", 'wrk.headers["Content-Type"] = "application/json"']
    if token is not None:
        lines.append(f'wrk.headers["Authorization"] = {lua_string("Bearer " + token)}')
    script = work / "lua" / f"{secrets.token_hex(6)}.lua"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("\n".join(lines) + "\n" + WRK_REPORT)
    return script


def wrk(url: str, concurrency: int, duration: int, script: Path, pids: Sequence[int]) -> dict[str, Any]:
    """One wrk run: requests/s, p50 and p99 in ms, errors (non-2xx/3xx and socket errors), peak worker
    RSS, and the CPU milliseconds the servers ``pids`` used per request answered."""
    seconds = max(1, duration)  # wrk takes whole seconds
    args = ["wrk", "-t", "1", "-c", str(concurrency), "-d", f"{seconds}s", "--timeout", WRK_TIMEOUT]
    args += ["--latency", "-s", str(script), url]
    cpu_before = cpu_seconds(pids)
    with PeakMemory(pids) as memory:
        code, output = bounded(args, timeout=seconds + 30)
    match = re.search(r"^BENCH (\{.*\})$", output, re.MULTILINE)
    if code != 0 or not match:
        raise RuntimeError(f"`{' '.join(args)}` failed ({code}):\n{output[-2000:]}")
    raw = json.loads(match.group(1))
    drain(url)
    # What the servers spent on the run and on the requests it left queued (drained above).
    cpu = cpu_seconds(pids) - cpu_before
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        # Only successful answers count as served: a server that fails fast must not look fast.
        "rps": (raw["requests"] - raw["status"]) / (raw["duration_us"] / 1e6),
        "requests": raw["requests"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "non_2xx": raw["status"],
        "socket_errors": socket_errors,
        "errors": raw["status"] + socket_errors,
        "peak_rss_mb": memory.peak / 2**20,
        "cpu_ms_per_request": 1000 * cpu / raw["requests"] if raw["requests"] else None,
    }


def drain(url: str) -> None:
    """Wait (up to 30 s) until the server has worked off what wrk left queued when it stopped:
    one request answered after the backlog, so the next measurement starts from an idle server."""
    base = url.split("/", 3)
    health = f"{base[0]}//{base[2]}/health"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            httpx.get(health, timeout=deadline - time.monotonic())
            break
    time.sleep(0.2)


def slow_clients(served: Served) -> dict[str, Any]:
    """Two connections send half a request and stall; does GET /health still answer at once?"""
    stalled = []
    try:
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", served.port), timeout=2)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            stalled.append(sock)
        time.sleep(0.3)
        start = time.perf_counter()
        try:
            answered = httpx.get(f"{served.url}/health", timeout=SLOW_CLIENT_BOUND_SECONDS).status_code == 200
        except httpx.TransportError:
            answered = False
        seconds = time.perf_counter() - start
    finally:
        for sock in stalled:
            sock.close()
    return {"answered": answered, "seconds": min(seconds, SLOW_CLIENT_BOUND_SECONDS) if answered else None}


def login(url: str) -> str:
    """Register a user and return a bearer token for it, over HTTP."""
    email, password = "bench@example.com", "benchmark-pass-1234"
    with httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/api/v1/auth/register", json={"email": email, "password": password})
        if created.status_code != 201:
            raise RuntimeError(f"register answered {created.status_code}: {created.text}")
        token = client.post("/api/v1/auth/token", data={"username": email, "password": password})
        if token.status_code != 200:
            raise RuntimeError(f"token answered {token.status_code}: {token.text}")
        return str(token.json()["access_token"])


def seed(url: str, token: str | None) -> int:
    """Create SEED_ITEMS items; return the id of the first."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    ids = []
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        for index in range(SEED_ITEMS):
            answer = client.post("/api/v1/items", json={"name": f"item {index}", "description": "seeded"})
            if answer.status_code != 201:
                raise RuntimeError(f"POST /api/v1/items answered {answer.status_code}: {answer.text}")
            ids.append(int(answer.json()["id"]))
    return ids[0]
