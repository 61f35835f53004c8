"""The candidate production servers of each framework, and starting an app under one."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.processes import PROCESSES
from tests.baking import BIN, FRAMEWORKS
from tests.harness import free_port, wait_for_health

__all__ = ["FRAMEWORKS"]
TITLES = {"fastapi": "FastAPI", "flask": "Flask"}


@dataclass(frozen=True)
class Server:
    framework: str
    key: str
    label: str
    shipped: bool = False
    baseline: bool = False
    # Granian's --blocking-threads for the shipped Flask server: read from the baked project.
    threads: int | None = None

    def command(self, target: str, port: int, workers: int) -> list[str]:
        bind = f"127.0.0.1:{port}"
        granian = [str(BIN / "granian"), "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        gunicorn = [str(BIN / "gunicorn"), "--bind", bind, "--workers", str(workers)]
        commands = {
            "uvicorn": [
                str(BIN / "uvicorn"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
                *("--loop", "uvloop", "--http", "httptools", "--no-access-log", target),
            ],
            "gunicorn-uvicorn": [*gunicorn, "--worker-class", "uvicorn_worker.UvicornWorker", target],
            "granian-asgi": [*granian, "--interface", "asgi", target],
            "gunicorn-sync": [*gunicorn, target],
            "gunicorn-gthread": [*gunicorn, "--worker-class", "gthread", "--threads", "8", target],
            "granian-wsgi-1": [*granian, "--interface", "wsgi", "--blocking-threads", "1", target],
            "granian-wsgi": [*granian, "--interface", "wsgi", "--blocking-threads", str(self.threads), target],
            # Waitress has no worker processes: one process, its default four threads.
            "waitress": [str(BIN / "waitress-serve"), f"--listen={bind}", target],
        }
        if self.key == SHIPPED_FLASK and self.threads is None:
            raise RuntimeError("the shipped Flask server's threads are read from a baked project: ship_as() first")
        return commands[self.key]


SERVERS: tuple[Server, ...] = (
    Server("fastapi", "uvicorn", "uvicorn (uvloop, httptools)", baseline=True),
    Server("fastapi", "gunicorn-uvicorn", "gunicorn + uvicorn workers"),
    Server("fastapi", "granian-asgi", "granian (asgi)", shipped=True),
    Server("flask", "gunicorn-sync", "gunicorn sync", baseline=True),
    Server("flask", "gunicorn-gthread", "gunicorn gthread (8 threads)"),
    Server("flask", "granian-wsgi-1", "granian (wsgi, 1 blocking thread)"),
    Server("flask", "granian-wsgi", "granian (wsgi, the project's blocking threads)", shipped=True),
    Server("flask", "waitress", "waitress (4 threads)"),
)
SHIPPED_FLASK = "granian-wsgi"
SMOKE_SERVERS = ("uvicorn", "granian-asgi", "gunicorn-sync", SHIPPED_FLASK)
# Measured on the items routes too, beside Flask's shipped server (see measure_database).
ALTERNATIVE_ITEMS_SERVER = "granian-wsgi-1"


def shipped_threads(project: Path) -> int:
    """The blocking threads a baked Flask project ships: its README's server command and, when
    it has one, its Dockerfile's GRANIAN_BLOCKING_THREADS (which must agree)."""
    found = set(re.findall(r"--blocking-threads (\d+)", (project / "README.md").read_text()))
    dockerfile = project / "Dockerfile"
    if dockerfile.exists():
        found |= set(re.findall(r"GRANIAN_BLOCKING_THREADS=(\d+)", dockerfile.read_text()))
    if len(found) != 1:
        raise SystemExit(f"{project}: expected one --blocking-threads in README.md and Dockerfile, found {found}")
    return int(found.pop())


def ship_as(project: Path) -> None:
    """Serve Flask's shipped server as the baked ``project`` configures it (its README, Dockerfile)."""
    global SERVERS
    threads = shipped_threads(project)
    label = f"granian (wsgi, {threads} blocking threads)"
    SERVERS = tuple(replace(s, threads=threads, label=label) if s.key == SHIPPED_FLASK else s for s in SERVERS)


def shipped(framework: str) -> Server:
    return next(s for s in SERVERS if s.framework == framework and s.shipped)


def baseline(framework: str) -> Server:
    return next(s for s in SERVERS if s.framework == framework and s.baseline)


def server_by_key(key: str) -> Server:
    return next(s for s in SERVERS if s.key == key)


@dataclass
class Served:
    name: str
    process: subprocess.Popen[Any]
    port: int
    log: Path
    startup_s: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def serve(server: Server, name: str, target: str, cwd: Path, env: dict[str, str], work: Path, workers: int) -> Served:
    """Start ``target`` under ``server``; return once /health answers 200 (start-up time: spawn to that 200)."""
    port = free_port()
    log = work / "logs" / f"{name}-{server.key}-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    process = PROCESSES.spawn(server.command(target, port, workers), cwd, env, log)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process, log)
    except BaseException:
        PROCESSES.stop(process)
        raise
    return Served(name, process, port, log, time.perf_counter() - start)
