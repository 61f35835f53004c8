"""Time a newcomer's first minutes: bake -> install -> migrate -> serve -> first 200.

From a fresh clone of this repository (HEAD), for each template and each installer
(uv, pip), as the generated README says: bake the default project, install it (`uv sync`,
or a virtualenv and `pip install -e '.[dev]'`), apply the migrations, start granian and
time until `GET /health` answers 200; then, apart, the project's own test suite. The
first round warms the installers' caches and is not counted.

    python tools/first_200.py              # 3 counted rounds
    python tools/first_200.py --rounds 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FRAMEWORKS = ("fastapi", "flask")
INSTALLERS = ("uv", "pip")
# Settings of a developer's shell that would leak into the project.
DROPPED = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "DATABASE_URL", "SECRET_KEY", "ENVIRONMENT")


def environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in DROPPED}
    tools = Path(tempfile.mkdtemp(prefix="first200-bin-"))
    for tool in ("uv", "cookiecutter"):
        (tools / tool).symlink_to(BIN / tool)
    # The machine's own python3 first (not this repository's virtualenv), then uv and cookiecutter.
    env["PATH"] = f"{env.get('PATH', '')}{os.pathsep}{tools}"
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sh(command: str, cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=cwd, env=env, check=True, capture_output=True)


def first_200(command: str, cwd: Path, env: dict[str, str], port: int) -> None:
    """Start the server, wait for GET /health = 200, stop it."""
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{command} did not answer within 120 s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def steps(framework: str, installer: str, port: int) -> list[tuple[str, str]]:
    """(name, shell command) of each step after the bake, as the README gives them."""
    run = "uv run " if installer == "uv" else ".venv/bin/"
    install = "uv sync" if installer == "uv" else "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'"
    if framework == "fastapi":
        migrate = f"{run}alembic upgrade head"
        serve = f"{run}granian --interface asgi --host 127.0.0.1 --port {port} --workers 1 my_service.main:app"
    else:
        migrate = f"{run}flask --app my_service db upgrade"
        serve = f"{run}granian --interface wsgi --host 127.0.0.1 --port {port} --workers 1 my_service.wsgi:app"
    return [("install", install), ("migrate", migrate), ("serve", serve)]


def one_round(clone: Path, framework: str, installer: str, env: dict[str, str]) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix=f"first200-{framework}-{installer}-"))
    try:
        times: dict[str, float] = {}
        start = time.perf_counter()
        sh(f"cookiecutter {clone} --directory {framework}-template --no-input -o {work}", work, env)
        times["bake"] = time.perf_counter() - start
        project = work / "my_service"
        port = free_port()
        for name, command in steps(framework, installer, port):
            began = time.perf_counter()
            if name == "serve":
                first_200(command, project, env, port)
            else:
                sh(command, project, env)
            times[name] = time.perf_counter() - began
        times["first 200"] = time.perf_counter() - start
        began = time.perf_counter()
        sh("uv run pytest -q" if installer == "uv" else ".venv/bin/pytest -q", project, env)
        times["tests"] = time.perf_counter() - began
        return times
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="counted rounds after the warm-up (default 3)")
    args = parser.parse_args(argv)
    env = environment()
    with tempfile.TemporaryDirectory(prefix="first200-clone-") as folder:
        clone = Path(folder) / "templates"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        results: dict[tuple[str, str], list[dict[str, float]]] = {}
        for framework in FRAMEWORKS:
            for installer in INSTALLERS:
                one_round(clone, framework, installer, env)  # warms the cache
                results[framework, installer] = [
                    one_round(clone, framework, installer, env) for _ in range(args.rounds)
                ]
    median: Callable[[list[float]], float] = statistics.median
    names = ("bake", "install", "migrate", "serve", "first 200", "tests")
    print(f"median of {args.rounds} rounds, warm cache, seconds")
    print("| template | installer | " + " | ".join(names) + " | first 200 (min-max) |")
    print("|---|---|" + "---|" * (len(names) + 1))
    for (framework, installer), rounds in results.items():
        cells = [f"{median([r[name] for r in rounds]):.1f}" for name in names]
        totals = [r["first 200"] for r in rounds]
        spread = f"{min(totals):.1f}-{max(totals):.1f}"
        print(f"| {framework} | {installer} | " + " | ".join(cells) + f" | {spread} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
