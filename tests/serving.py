"""Start a baked project the way its README and Dockerfile do: migrations first, then
the production server (granian) on loopback; stop it afterwards."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.baking import Baked, project_env, run
from tests.harness import free_port, spawn, stop_server, wait_for_health

__all__ = ["free_port", "stop_server"]  # the tests import them from here too

# base URL -> pid of the server process answering there, while it runs.
SERVER_PIDS: dict[str, int] = {}


# The README's (and the image's GRANIAN_*) lifecycle flags: a failed worker is replaced, a
# reload starts each new worker well before it stops the old one, a stop is bounded.
LIFECYCLE = ["--respawn-failed-workers", "--respawn-interval", "10", "--workers-kill-timeout", "20"]


def documented_workers() -> int:
    """The README's `--workers "$(nproc)"`."""
    return len(os.sched_getaffinity(0))


def commands(baked: Baked, port: int, workers: int = 2) -> tuple[list[str] | None, list[str]]:
    """(schema command, server command) as the project's README gives them."""
    slug, has_db = baked.slug, baked.context["database"] != "none"
    bind = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *LIFECYCLE]
    if baked.framework == "fastapi":
        migrate = ["alembic", "upgrade", "head"]
        serve = ["granian", "--interface", "asgi", *bind, f"{slug}.main:app"]
    else:
        migrate = ["flask", "--app", slug, "db", "upgrade"]
        serve = ["granian", "--interface", "wsgi", *bind, "--blocking-threads", "64", f"{slug}.wsgi:app"]
    return (migrate if has_db else None), serve


def migrate(baked: Baked, settings: dict[str, str]) -> None:
    """The project's schema command, once (a deployment runs it before its replicas start)."""
    migrate_command, _ = commands(baked, 0)
    if migrate_command:
        run(migrate_command, baked.path, project_env(**settings))


def start_server(
    baked: Baked, log: Path, settings: dict[str, str], port: int, workers: int = 2
) -> subprocess.Popen[bytes]:
    """Start the production server on ``port`` (no migration), in a process group of its own,
    appending to ``log``; return once ``/health`` answers 200 from every worker."""
    _, serve = commands(baked, port, workers)
    process = spawn(serve, baked.path, project_env(**settings), log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base_url, process, log)
        # The first answer may come from the first worker ready; a burst on fresh connections
        # also waits for the others, so that no test measures a worker still importing the app.
        with ThreadPoolExecutor(4 * workers) as burst:
            answers = list(burst.map(lambda _: httpx.get(f"{base_url}/health", timeout=60), range(4 * workers)))
        assert all(answer.status_code == 200 for answer in answers), [a.status_code for a in answers]
    except BaseException:
        stop_server(process)
        raise
    return process


@contextmanager
def serving(baked: Baked, log: Path, settings: dict[str, str], workers: int = 2) -> Iterator[str]:
    """Migrate, start the server, wait for `/health` to answer 200; yield its base URL."""
    port = free_port()
    migrate(baked, settings)
    log.write_text("")
    process = start_server(baked, log, settings, port, workers)
    base_url = f"http://127.0.0.1:{port}"
    try:
        SERVER_PIDS[base_url] = process.pid
        yield base_url
    finally:
        SERVER_PIDS.pop(base_url, None)
        stop_server(process)


def secret_key(baked: Baked) -> str:
    for line in (baked.path / ".env").read_text().splitlines():
        if line.startswith("SECRET_KEY="):
            return line.removeprefix("SECRET_KEY=")
    raise AssertionError(".env has no SECRET_KEY")
