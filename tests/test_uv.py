"""The uv path of each default project, from a fresh bake and a fresh virtualenv: the
README's uv line (`uv sync && uv run pytest`) as written, then the migrations, the
development server and the production server under `uv run`, each answering
`/health`. uv's cache is the user's own (warm after the first run)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import FRAMEWORKS, Baked, bake, project_env, run
from tests.serving import commands, free_port

# Settings that would point uv at another environment than the project's own .venv.
FOREIGN = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "CONDA_PREFIX", "UV_NO_SYNC", "UV_FROZEN", "UV_OFFLINE")


def uv_env() -> dict[str, str]:
    env = {key: value for key, value in project_env().items() if key not in FOREIGN}
    env["UV_PYTHON_DOWNLOADS"] = "never"  # the machine's Python, as a developer's uv would find it
    return env


def readme_uv_line(readme: Path) -> str:
    """The uv line of the README's first command block."""
    first_block = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", readme.read_text(), re.DOTALL)[0]
    (line,) = [line for line in str(first_block).splitlines() if line.startswith("uv ")]
    return line


def answers_health(command: list[str], baked: Baked, port: int, log: Path) -> None:
    """Start ``command`` in the project, wait for GET /health = 200, stop it."""
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=baked.path, env=uv_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"{' '.join(command)} exited:\n{log.read_text()}"
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                if response.status_code == 200:
                    assert response.json()["status"] == "ok"
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{' '.join(command)} did not answer:\n{log.read_text()}"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def dev_server(baked: Baked, port: int) -> list[str]:
    """The README's development server command, under `uv run`, on ``port``."""
    if baked.framework == "fastapi":
        return ["uv", "run", "fastapi", "dev", f"{baked.slug}/main.py", "--port", str(port)]
    return ["uv", "run", "flask", "--app", baked.slug, "run", "--port", str(port)]


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_default_project_by_uv(cookies: Any, tmp_path: Path, framework: str) -> None:
    baked = bake(cookies, framework)
    assert not (baked.path / ".venv").exists() and not (baked.path / "uv.lock").exists()
    line = readme_uv_line(baked.path / "README.md")
    assert line == "uv sync && uv run pytest", line
    run(["bash", "-euo", "pipefail", "-c", line], baked.path, uv_env(), timeout=900)
    assert (baked.path / ".venv" / "pyvenv.cfg").exists(), "uv made the project's own virtualenv"
    assert (baked.path / "uv.lock").exists(), "the first uv sync locks the versions"
    run(["uv", "lock", "--check"], baked.path, uv_env())

    port = free_port()
    migrate, serve = commands(baked, port)
    if migrate:
        run(["uv", "run", *migrate], baked.path, uv_env())
    answers_health(["uv", "run", *serve], baked, port, tmp_path / "granian.log")
    port = free_port()
    answers_health(dev_server(baked, port), baked, port, tmp_path / "dev.log")
