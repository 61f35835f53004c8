"""Start a baked project the way its README and Dockerfile do: migrations first, then
the production server (granian) on loopback; stop it afterwards."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
        threads = re.search(r"--blocking-threads (\d+)", (baked.path / "README.md").read_text())
        assert threads, "the README's granian command names no --blocking-threads"
        serve = ["granian", "--interface", "wsgi", *bind, "--blocking-threads", threads[1], f"{slug}.wsgi:app"]
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
    appending to ``log``; return once every worker has started and ``/health`` answers 200."""
    _, serve = commands(baked, port, workers)
    start = log.stat().st_size if log.exists() else 0
    process = spawn(serve, baked.path, project_env(**settings), log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base_url, process, log)
        wait_for_workers(log, start, workers, process)
    except BaseException:
        stop_server(process)
        raise
    return process


def wait_for_workers(log: Path, start: int, workers: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until granian logs "Started worker-N" for every worker. The first /health answer
    comes from the first worker ready; a worker still importing the app accepts nothing, so a
    test begun then would send every connection to the others."""
    expected = {f"Started worker-{index}" for index in range(1, workers + 1)}
    deadline = time.monotonic() + 120
    while True:
        with log.open("rb") as stream:
            stream.seek(start)
            started = {line.strip() for line in stream.read().decode(errors="replace").splitlines()}
        if expected <= {line.removeprefix("[INFO] ") for line in started}:
            return
        assert process.poll() is None, f"the server exited with {process.returncode}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"not every worker started within 120 s:\n{log.read_text()}"
        time.sleep(0.1)


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
