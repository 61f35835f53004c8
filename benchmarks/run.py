"""Flask or FastAPI? Measured.

Bakes a FastAPI and a Flask project with the same answers, serves each under every
candidate production server on loopback, drives load with wrk and writes
``results.json``, ``results.md`` and ``results.png`` (see benchmarks/README.md).

    .venv/bin/pip install -r requirements.txt     # includes requirements/benchmarks.txt
    sudo apt-get install -y wrk                   # the load generator (Debian/Ubuntu)
    .venv/bin/python benchmarks/run.py            # the full run, about 20 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --smoke    # a one-minute check that everything starts

Every process it starts runs in a process group of its own and is stopped when the run
ends, fails or is interrupted; every wait has a time limit. PostgreSQL databases are
created for the run on the server of ``TEMPLATE_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) and dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_OUT = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
START_MARKER = "<!-- benchmarks:start -->"
END_MARKER = "<!-- benchmarks:end -->"
DASH, TIMES = "\u2013", "\u00d7"  # en dash for ranges, multiplication sign for ratios
POSTGRES_URL = os.environ.get("TEMPLATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

FRAMEWORKS = ("fastapi", "flask")
TITLES = {"fastapi": "FastAPI", "flask": "Flask"}
CONCURRENCIES = (1, 32, 256)
HEADLINE_CONCURRENCY = 32
SLOW_CLIENT_BOUND_SECONDS = 3.0
WRK_TIMEOUT = "10s"
SEED_ITEMS = 20
# The replicas row: this many replicas at most behind HAProxy, driven at this many connections.
REPLICA_COUNTS = (1, 2, 3)
REPLICA_CONCURRENCY = 64
REPLICA_ROUTE = "GET /api/v1/items/{id}"
# Settings a developer's shell may carry that must not reach the served projects.
PROJECT_SETTINGS = (
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "SECRET_KEY",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "CORS_ORIGINS",
    "ENVIRONMENT",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "DOCS_ENABLED",
    "FLASK_APP",
    "FLASK_DEBUG",
)
BENCHMARK_PACKAGES = ("gunicorn", "uvicorn", "uvicorn_worker", "waitress", "granian", "psutil", "matplotlib", "httpx")
VERSIONS = (
    "fastapi",
    "starlette",
    "pydantic",
    "flask",
    "werkzeug",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "psycopg",
    "granian",
    "uvicorn",
    "uvloop",
    "httptools",
    "gunicorn",
    "uvicorn-worker",
    "waitress",
)

BARE_APPS = {
    "fastapi": '''"""The smallest FastAPI service with the generated /health answer."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "database": "ok"}
''',
    "flask": '''"""The smallest Flask service with the generated /health answer."""

from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "database": "ok"}
''',
}


# --- the candidate servers ------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    framework: str
    key: str
    label: str
    shipped: bool = False
    baseline: bool = False

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
            "granian-wsgi-8": [*granian, "--interface", "wsgi", "--blocking-threads", "8", target],
            # Waitress has no worker processes: one process, its default four threads.
            "waitress": [str(BIN / "waitress-serve"), f"--listen={bind}", target],
        }
        return commands[self.key]


SERVERS = (
    Server("fastapi", "uvicorn", "uvicorn (uvloop, httptools)", baseline=True),
    Server("fastapi", "gunicorn-uvicorn", "gunicorn + uvicorn workers"),
    Server("fastapi", "granian-asgi", "granian (asgi)", shipped=True),
    Server("flask", "gunicorn-sync", "gunicorn sync", baseline=True),
    Server("flask", "gunicorn-gthread", "gunicorn gthread (8 threads)"),
    Server("flask", "granian-wsgi-1", "granian (wsgi, 1 blocking thread)"),
    Server("flask", "granian-wsgi-8", "granian (wsgi, 8 blocking threads)", shipped=True),
    Server("flask", "waitress", "waitress (4 threads)"),
)
SMOKE_SERVERS = ("uvicorn", "granian-asgi", "gunicorn-sync", "granian-wsgi-8")
# Measured on the items routes too, beside Flask's shipped server (see measure_database).
ALTERNATIVE_ITEMS_SERVER = "granian-wsgi-1"


def shipped(framework: str) -> Server:
    return next(s for s in SERVERS if s.framework == framework and s.shipped)


def baseline(framework: str) -> Server:
    return next(s for s in SERVERS if s.framework == framework and s.baseline)


def server_by_key(key: str) -> Server:
    return next(s for s in SERVERS if s.key == key)


# --- processes: every one in its own group, all stopped at the end ----------------------


class Processes:
    """The process groups this run started; ``stop_all`` ends whatever is left."""

    def __init__(self) -> None:
        self.running: dict[int, subprocess.Popen[Any]] = {}

    def spawn(self, args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[Any]:
        with log.open("ab") as out:
            process = subprocess.Popen(
                args,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running[process.pid] = process
        return process

    def stop(self, process: subprocess.Popen[Any], grace: float = 10.0) -> None:
        self.running.pop(process.pid, None)
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # The leader has gone; make sure no worker of its group outlives it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            return

    def stop_many(self, processes: list[subprocess.Popen[Any]], grace: float = 10.0) -> None:
        """Stop several groups at once: all are asked to end, then each is waited for."""
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            self.stop(process, grace)

    def stop_all(self) -> None:
        self.stop_many(list(self.running.values()), grace=5.0)


PROCESSES = Processes()


def bounded(
    args: list[str], timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run a command in its own process group; kill the group when it outlives ``timeout``."""
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    PROCESSES.running[process.pid] = process
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        PROCESSES.stop(process)
        raise RuntimeError(f"`{' '.join(args)}` did not finish within {timeout:.0f} s; stopped it") from None
    finally:
        PROCESSES.running.pop(process.pid, None)
    return process.returncode, output.decode(errors="replace")


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(f"stopped by signal {signum}")


# --- baking -------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    framework: str
    database: str
    auth: bool
    path: Path
    slug: str

    @property
    def target(self) -> str:
        return f"{self.slug}.main:app" if self.framework == "fastapi" else f"{self.slug}.wsgi:app"


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence the hooks' "next steps" (they run as child processes writing to fd 1)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


TEMPLATES = {"root": ROOT}


def export_templates(work: Path, working_tree: bool) -> str:
    """Bake from the last commit (``git archive HEAD``), not from edits in progress, unless
    ``working_tree``; return what was baked, for the results."""
    if working_tree or not (ROOT / ".git").exists():
        return "working tree"
    source = work / "source"
    source.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD", "fastapi-template", "flask-template"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True, timeout=60)
    TEMPLATES["root"] = source
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %cI"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return f"commit {commit}"


def bake(framework: str, output_dir: Path, **answers: Any) -> Path:
    from cookiecutter.main import cookiecutter

    output_dir.mkdir(parents=True, exist_ok=True)
    template = TEMPLATES["root"] / f"{framework}-template"
    with quiet_stdout():
        path = cookiecutter(str(template), no_input=True, output_dir=str(output_dir), extra_context=answers)
    return Path(path)


def bake_project(framework: str, database: str, auth: bool, work: Path) -> Project:
    answers = {"database": database, "use_auth": auth, "ci": "none"}
    path = bake(framework, work / "projects" / f"{framework}-{database}-{'auth' if auth else 'noauth'}", **answers)
    return Project(framework, database, auth, path, path.name)


def time_bakes(framework: str, work: Path, count: int) -> list[float]:
    """Seconds to bake the default project, ``count`` times (cookiecutter's API, hooks included)."""
    seconds = []
    for index in range(count):
        start = time.perf_counter()
        bake(framework, work / "bake-timing" / f"{framework}-{index}")
        seconds.append(time.perf_counter() - start)
    return seconds


# --- databases --------------------------------------------------------------------


class Postgres:
    """Private databases on the shared server, all named ``bench_<random>_<n>``, dropped at the end."""

    def __init__(self) -> None:
        self.url = urlsplit(POSTGRES_URL)
        self.prefix = f"bench_{secrets.token_hex(4)}"
        self.made: list[str] = []

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            host=self.url.hostname,
            port=self.url.port or 5432,
            user=self.url.username,
            password=self.url.password or None,
            dbname=self.url.path.lstrip("/") or "postgres",
            autocommit=True,
            connect_timeout=3,
        )

    def problem(self) -> str | None:
        try:
            with self.connect():
                return None
        except Exception as error:  # any driver error means the server cannot be used
            return f"{error.__class__.__name__}: {error}".strip()

    def version(self) -> str:
        with self.connect() as connection:
            return str(connection.execute("SHOW server_version").fetchone()[0])

    def create(self) -> str:
        name = f"{self.prefix}_{len(self.made)}"
        with self.connect() as connection:
            connection.execute(f"CREATE DATABASE {name}")
        self.made.append(name)
        base = POSTGRES_URL.rsplit("/", 1)[0]
        return f"{base}/{name}"

    def drop_all(self) -> None:
        if not self.made:
            return
        with self.connect() as connection:
            for name in self.made:
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.made.clear()


def project_env(project_path: Path, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in PROJECT_SETTINGS}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(project_path)
    env.update(settings)
    return env


def migrate(project: Project, env: dict[str, str]) -> None:
    if project.framework == "fastapi":
        args = [str(BIN / "alembic"), "upgrade", "head"]
    else:
        args = [str(BIN / "flask"), "--app", project.slug, "db", "upgrade"]
    code, output = bounded(args, timeout=120, cwd=project.path, env=env)
    if code != 0:
        raise RuntimeError(f"migrating {project.path.name} failed:\n{output[-3000:]}")


# --- serving ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    import httpx

    port = free_port()
    log = work / "logs" / f"{name}-{server.key}-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    args = server.command(target, port, workers)
    start = time.perf_counter()
    process = PROCESSES.spawn(args, cwd, env, log)
    deadline = start + 60
    with httpx.Client(timeout=1.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"`{' '.join(args)}` exited {process.returncode}:\n{tail(log)}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            if time.perf_counter() > deadline:
                PROCESSES.stop(process)
                raise RuntimeError(f"`{' '.join(args)}` did not answer /health within 60 s:\n{tail(log)}")
            time.sleep(0.01)
    return Served(name, process, port, log, time.perf_counter() - start)


def tail(log: Path, size: int = 3000) -> str:
    try:
        return log.read_bytes()[-size:].decode(errors="replace")
    except OSError:
        return "(no log)"


class PeakMemory:
    """Samples the resident memory of a server's workers while a load runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def workers(self) -> list[Any]:
        import psutil  # type: ignore[import-untyped]

        try:
            root = psutil.Process(self.pid)
            children = root.children(recursive=True)
        except psutil.Error:
            return []
        # The processes that serve requests: the supervisor's children, or the one process.
        return children or [root]

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for process in self.workers():
                with contextlib.suppress(psutil.Error):
                    self.peak = max(self.peak, process.memory_info().rss)
            self._stop.wait(0.1)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- load ---------------------------------------------------------------------------

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


def wrk(url: str, concurrency: int, duration: int, script: Path, pid: int) -> dict[str, Any]:
    """One wrk run: requests/s, p50 and p99 in ms, errors (non-2xx/3xx and socket errors), peak worker RSS."""
    seconds = max(1, duration)  # wrk takes whole seconds
    args = ["wrk", "-t", "1", "-c", str(concurrency), "-d", f"{seconds}s", "--timeout", WRK_TIMEOUT]
    args += ["--latency", "-s", str(script), url]
    with PeakMemory(pid) as memory:
        code, output = bounded(args, timeout=seconds + 30)
    match = re.search(r"^BENCH (\{.*\})$", output, re.MULTILINE)
    if code != 0 or not match:
        raise RuntimeError(f"`{' '.join(args)}` failed ({code}):\n{output[-2000:]}")
    raw = json.loads(match.group(1))
    drain(url)
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
    }


def drain(url: str) -> None:
    """Wait (up to 30 s) until the server has worked off what wrk left queued when it stopped:
    one request answered after the backlog, so the next measurement starts from an idle server."""
    import httpx

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
    import httpx

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
    import httpx

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
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    ids = []
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        for index in range(SEED_ITEMS):
            answer = client.post("/api/v1/items", json={"name": f"item {index}", "description": "seeded"})
            if answer.status_code != 201:
                raise RuntimeError(f"POST /api/v1/items answered {answer.status_code}: {answer.text}")
            ids.append(int(answer.json()["id"]))
    return ids[0]


# --- the plan -----------------------------------------------------------------------


@dataclass
class Plan:
    duration: int
    warmup: int
    repeat: int
    workers: int
    concurrencies: tuple[int, ...]
    servers: tuple[Server, ...]
    databases: tuple[str, ...]
    auths: tuple[bool, ...]
    bakes: int
    test_suites: bool
    smoke: bool
    working_tree: bool
    replicas: bool = True  # the replicas row (PostgreSQL, HAProxy)
    only_replicas: bool = False  # that row alone
    notes: list[str] = field(default_factory=list)

    def seconds(self, concurrency: int) -> int:
        """Seconds of one wrk run: one connection settles fastest, so it gets half the time."""
        return self.duration if concurrency > 1 else max(1, self.duration // 2)

    def estimate_minutes(self) -> float:
        """Calibrated on the development machine (2 shared cores): about 0.5 s around each run and
        130 s per repeat for starting, seeding and stopping servers and timing the test suites."""
        per_app = sum(self.seconds(c) + 0.5 for c in self.concurrencies)
        health = sum(per_app * (3 if s.shipped else 2) for s in self.servers)
        database = (len(FRAMEWORKS) * len(self.databases) * len(self.auths) + 1) * 3 * per_app
        # The replicas row: three replicas and HAProxy started per framework (about 25 s), then one run per count.
        replicas = len(FRAMEWORKS) * (25 + len(REPLICA_COUNTS) * (self.duration + 1.5)) if self.replicas else 0
        if self.only_replicas:
            return (self.repeat * replicas + 20) / 60
        per_repeat = health + database + replicas + (130 if self.test_suites else 30)
        return (self.repeat * per_repeat + self.bakes * 2 * 0.3) / 60


class Recorder:
    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.servers: list[dict[str, Any]] = []

        self.failures: list[dict[str, str]] = []

    def run(self, **fields: Any) -> dict[str, Any]:
        self.runs.append(fields)
        return fields

    def attempt(self, what: str, measurement: Callable[[], None]) -> None:
        """Run one measurement; a failure is recorded and reported, and the run goes on with the rest."""
        try:
            measurement()
        except Exception as error:  # one broken candidate must not lose the other figures
            self.failures.append({"what": what, "error": f"{error.__class__.__name__}: {error}"[:4000]})
            say(f"  FAILED: {what}: {str(error).splitlines()[0] if str(error) else error.__class__.__name__}")


def say(message: str) -> None:
    print(message, flush=True)


def measure_health(
    plan: Plan, repeat: int, projects: dict[tuple[str, str, bool], Project], work: Path, recorder: Recorder
) -> None:
    """GET /health of the generated service and of a bare app, same server, same run, under each server."""
    for server in plan.servers:
        recorder.attempt(
            f"/health under {server.key}",
            functools.partial(health_session, plan, repeat, server, projects, work, recorder),
        )


def health_session(
    plan: Plan,
    repeat: int,
    server: Server,
    projects: dict[tuple[str, str, bool], Project],
    work: Path,
    recorder: Recorder,
) -> None:
    bare_dir = work / "bare"
    generated = projects[(server.framework, "sqlite", True)]
    apps: list[tuple[str, str, Path, dict[str, str]]] = [
        (
            "generated",
            generated.target,
            generated.path,
            project_env(
                generated.path,
                ENVIRONMENT="production",
                DATABASE_URL=f"sqlite:///{work / f'health-{server.key}-{repeat}.db'}",
            ),
        ),
        ("bare", f"bare_{server.framework}:app", bare_dir, project_env(bare_dir)),
    ]
    nodb = projects.get((server.framework, "none", False))
    if server.shipped and nodb is not None:
        apps.append(("generated-nodb", nodb.target, nodb.path, project_env(nodb.path, ENVIRONMENT="production")))
    if repeat % 2:
        apps.reverse()  # alternate who goes first, so drift in the machine's load evens out
    started: list[tuple[str, Served]] = []
    try:
        for app, target, cwd, env in apps:
            served = serve(server, app, target, cwd, env, work, plan.workers)
            started.append((app, served))
            recorder.servers.append(
                {
                    "framework": server.framework,
                    "server": server.key,
                    "app": app,
                    "repeat": repeat,
                    "startup_s": served.startup_s,
                }
            )
        script = wrk_script(work)
        for _app, served in started:
            wrk(f"{served.url}/health", 32, plan.warmup, script, served.process.pid)
        for concurrency in plan.concurrencies:
            for app, served in started:
                result = wrk(f"{served.url}/health", concurrency, plan.seconds(concurrency), script, served.process.pid)
                recorder.run(
                    kind="health",
                    framework=server.framework,
                    server=server.key,
                    app=app,
                    route="GET /health",
                    database="sqlite" if app == "generated" else "none",
                    auth=False,
                    concurrency=concurrency,
                    repeat=repeat,
                    **result,
                )
                say(
                    f"  {server.framework:7} {server.key:17} {app:15} c={concurrency:<3} "
                    f"{result['rps']:8.0f} req/s  p99 {result['p99_ms']:7.1f} ms  errors {result['errors']}"
                )
        for app, served in started:
            robust = slow_clients(served)
            record = next(
                r
                for r in reversed(recorder.servers)
                if r["server"] == server.key and r["app"] == app and r["repeat"] == repeat
            )
            record["slow_clients"] = robust
            if app == "generated":
                verdict = f"answered in {robust['seconds']:.3f} s" if robust["answered"] else "NOT answered"
                say(f"  {server.framework:7} {server.key:17} slow clients: {verdict}")
    finally:
        PROCESSES.stop_many([served.process for _app, served in started])


def measure_database(
    plan: Plan,
    repeat: int,
    projects: dict[tuple[str, str, bool], Project],
    work: Path,
    postgres: Postgres | None,
    recorder: Recorder,
) -> None:
    """The items routes under each framework's shipped server, per database and auth choice."""
    for database in plan.databases:
        if database == "postgresql" and postgres is None:
            continue
        for auth in plan.auths:
            candidates = [(framework, shipped(framework)) for framework in FRAMEWORKS]
            if database == plan.databases[-1] and auth:
                # One more Flask server on the last database with auth: does an 8-thread pool pay off there?
                candidates.append(("flask", server_by_key(ALTERNATIVE_ITEMS_SERVER)))
            if repeat % 2:
                candidates.reverse()
            for framework, server in candidates:
                recorder.attempt(
                    f"items routes of {framework} under {server.key} on {database}, auth {auth}",
                    functools.partial(
                        items_session,
                        plan,
                        repeat,
                        framework,
                        server,
                        database,
                        auth,
                        projects,
                        work,
                        postgres,
                        recorder,
                    ),
                )


def items_session(
    plan: Plan,
    repeat: int,
    framework: str,
    server: Server,
    database: str,
    auth: bool,
    projects: dict[tuple[str, str, bool], Project],
    work: Path,
    postgres: Postgres | None,
    recorder: Recorder,
) -> None:
    project = projects[(framework, database, auth)]
    if database == "postgresql" and postgres is not None:
        url = postgres.create()
    else:
        url = f"sqlite:///{work / f'items-{framework}-{server.key}-{auth}-{repeat}.db'}"
    env = project_env(project.path, ENVIRONMENT="production", DATABASE_URL=url)
    migrate(project, env)
    served = serve(server, f"items-{database}", project.target, project.path, env, work, plan.workers)
    try:
        recorder.servers.append(
            {
                "framework": framework,
                "server": server.key,
                "app": f"items-{database}-{auth}",
                "repeat": repeat,
                "startup_s": served.startup_s,
            }
        )
        token = login(served.url) if auth else None
        item_id = seed(served.url, token)
        get = wrk_script(work, token=token)
        post = wrk_script(work, "POST", json.dumps({"name": "bench", "description": "load"}), token)
        routes = [
            ("GET /api/v1/items/{id}", f"/api/v1/items/{item_id}", get),
            ("GET /api/v1/items?limit=20", "/api/v1/items?limit=20", get),
            ("POST /api/v1/items", "/api/v1/items", post),
        ]
        wrk(f"{served.url}{routes[0][1]}", 32, plan.warmup, get, served.process.pid)
        # Reads first, at every concurrency, on the seeded table; the writes that grow it last.
        for route, path, script in routes:
            for concurrency in plan.concurrencies:
                result = wrk(
                    f"{served.url}{path}",
                    concurrency,
                    plan.seconds(concurrency),
                    script,
                    served.process.pid,
                )
                recorder.run(
                    kind="items",
                    framework=framework,
                    server=server.key,
                    app="generated",
                    route=route,
                    database=database,
                    auth=auth,
                    concurrency=concurrency,
                    repeat=repeat,
                    **result,
                )
                say(
                    f"  {framework:7} {server.key:15} {database:10} {'auth' if auth else 'noauth':6} "
                    f"{route:27} "
                    f"c={concurrency:<3} {result['rps']:8.0f} req/s  p99 {result['p99_ms']:7.1f} ms  "
                    f"errors {result['errors']}"
                )
                if result["errors"]:
                    errors = [line for line in tail(served.log, 20000).splitlines() if "Error" in line]
                    if errors:
                        say(f"    last error in the log: {errors[-1][:300]}")
    finally:
        PROCESSES.stop(served.process)


# --- replicas behind HAProxy ----------------------------------------------------------

HAPROXY_CONFIG = """\
global
    nbthread 1
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 3s
    retries 3
    option redispatch 1
    retry-on conn-failure

frontend api
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    default-server check inter 500ms fall 2 rise 2
{servers}
"""


class Balancer:
    """HAProxy in front of the replicas; the servers not measured are put in maintenance."""

    def __init__(self, ports: list[int], work: Path) -> None:
        self.port = free_port()
        self.socket = work / f"haproxy-{self.port}.sock"
        self.names = [f"r{index + 1}" for index in range(len(ports))]
        servers = "\n".join(f"    server {name} 127.0.0.1:{port}" for name, port in zip(self.names, ports, strict=True))
        config = work / f"haproxy-{self.port}.cfg"
        config.write_text(HAPROXY_CONFIG.format(socket=self.socket, port=self.port, servers=servers))
        self.log = work / "logs" / f"haproxy-{self.port}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = PROCESSES.spawn([haproxy_binary(), "-db", "-f", str(config)], work, dict(os.environ), self.log)
        deadline = time.monotonic() + 30
        while True:  # until its admin socket answers
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited {self.process.returncode}:\n{tail(self.log)}")
            with contextlib.suppress(OSError):
                self.command("show info")
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"haproxy's admin socket did not answer within 30 s:\n{tail(self.log)}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket))
            sock.sendall(line.encode() + b"\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        return data.decode()

    def statuses(self) -> dict[str, str]:
        lines = self.command("show stat").lstrip("# ").splitlines()
        head = lines[0].split(",")
        rows = [dict(zip(head, line.split(","), strict=False)) for line in lines[1:] if line]
        return {
            row["svname"]: row["status"] for row in rows if row["pxname"] == "replicas" and row["svname"] in self.names
        }

    def use(self, count: int) -> None:
        """Send to the first ``count`` replicas only; wait until HAProxy sees exactly those UP."""
        for index, name in enumerate(self.names):
            self.command(f"set server replicas/{name} state {'ready' if index < count else 'maint'}")
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited {self.process.returncode}:\n{tail(self.log)}")
            with contextlib.suppress(OSError, IndexError):
                statuses = self.statuses()
                if [statuses.get(name) == "UP" for name in self.names] == [i < count for i in range(len(self.names))]:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy did not see {count} replica(s) UP within 30 s: {self.statuses()}")
            time.sleep(0.1)


def haproxy_binary() -> str:
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def haproxy_version() -> str:
    with contextlib.suppress(OSError, RuntimeError):
        _, output = bounded([haproxy_binary(), "-v"], timeout=10)
        words = output.split()  # "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/"
        return words[2] if len(words) > 2 and words[1] == "version" else "unknown"
    return "unknown"


def measure_replicas(
    plan: Plan,
    repeat: int,
    projects: dict[tuple[str, str, bool], Project],
    work: Path,
    postgres: Postgres,
    recorder: Recorder,
) -> None:
    """Throughput through HAProxy with 1, 2 and 3 replicas of each framework's service."""
    frameworks = list(FRAMEWORKS) if repeat % 2 == 0 else list(reversed(FRAMEWORKS))
    for framework in frameworks:
        recorder.attempt(
            f"replicas of {framework} behind HAProxy",
            functools.partial(
                replicas_session, plan, repeat, projects[(framework, "postgresql", True)], work, postgres, recorder
            ),
        )


def replicas_session(
    plan: Plan, repeat: int, project: Project, work: Path, postgres: Postgres, recorder: Recorder
) -> None:
    server = shipped(project.framework)
    # The same settings for every replica, as a deployment gives them: one database, one secret.
    env = project_env(
        project.path, ENVIRONMENT="production", DATABASE_URL=postgres.create(), SECRET_KEY=secrets.token_hex(32)
    )
    migrate(project, env)  # once, before the replicas start
    replicas: list[Served] = []
    balancer: Balancer | None = None
    try:
        # Started side by side, as a deployment would; a replica that fails to start fails the session.
        with ThreadPoolExecutor(max(REPLICA_COUNTS)) as starting:
            started = [
                starting.submit(serve, server, f"replica{i + 1}", project.target, project.path, env, work, plan.workers)
                for i in range(max(REPLICA_COUNTS))
            ]
        failed = [error for error in (future.exception() for future in started) if error is not None]
        replicas.extend(future.result() for future in started if future.exception() is None)
        if failed:
            raise failed[0]
        token = login(replicas[0].url)
        item_id = seed(replicas[0].url, token)
        balancer = Balancer([served.port for served in replicas], work)
        script = wrk_script(work, token=token)
        path = f"/api/v1/items/{item_id}"
        counts = REPLICA_COUNTS if repeat % 2 == 0 else tuple(reversed(REPLICA_COUNTS))
        balancer.use(max(REPLICA_COUNTS))
        wrk(f"{balancer.url}{path}", REPLICA_CONCURRENCY, plan.warmup, script, replicas[0].process.pid)
        for count in counts:
            balancer.use(count)
            result = wrk(f"{balancer.url}{path}", REPLICA_CONCURRENCY, plan.duration, script, replicas[0].process.pid)
            recorder.run(
                kind="replicas",
                framework=project.framework,
                server=server.key,
                app="generated",
                route=REPLICA_ROUTE,
                database="postgresql",
                auth=True,
                concurrency=REPLICA_CONCURRENCY,
                replicas=count,
                repeat=repeat,
                **result,
            )
            say(
                f"  {project.framework:7} {count} replica(s) x {plan.workers} worker behind HAProxy "
                f"c={REPLICA_CONCURRENCY} {result['rps']:8.0f} req/s  p99 {result['p99_ms']:7.1f} ms  "
                f"errors {result['errors']}"
            )
    finally:
        PROCESSES.stop_many([served.process for served in replicas] + ([balancer.process] if balancer else []))


def time_test_suite(project: Project, into: list[float]) -> None:
    """Time the project's own tests (``pytest``, as its README runs them) and append the seconds to ``into``."""
    env = project_env(project.path)
    start = time.perf_counter()
    code, output = bounded(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], timeout=600, cwd=project.path, env=env
    )
    seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"the {project.framework} project's own tests failed:\n{output[-3000:]}")
    into.append(seconds)


def machine(postgres: Postgres | None) -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str | None] = {}
    for name in VERSIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    _, wrk_version = bounded(["wrk", "-v"], timeout=10)
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average_at_start": os.getloadavg()[0],
        "wrk": wrk_version.splitlines()[0].split(" Copyright")[0] if wrk_version else "unknown",
        "postgresql": postgres.version() if postgres else None,
        "versions": versions,
    }


def check_tools() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit(
            "wrk, the load generator, is not installed: sudo apt-get install -y wrk  (Debian/Ubuntu; "
            "elsewhere see https://github.com/wg/wrk)"
        )
    missing = [name for name in BENCHMARK_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(
            f"missing {', '.join(missing)}: {BIN / 'pip'} install -r {ROOT / 'requirements' / 'benchmarks.txt'}"
        )


def measure(plan: Plan, out: Path) -> dict[str, Any]:
    check_tools()
    postgres: Postgres | None = None
    if plan.replicas and not Path(haproxy_binary()).exists():
        plan.replicas = False
        plan.notes.append("Replicas row left out: HAProxy is not installed (sudo apt-get install -y haproxy).")
        say(plan.notes[-1])
    if "postgresql" in plan.databases or plan.replicas:
        candidate = Postgres()
        problem = candidate.problem()
        if problem:
            plan.notes.append(f"PostgreSQL left out: the server at {POSTGRES_URL} did not answer ({problem}).")
            say(plan.notes[-1])
        else:
            postgres = candidate
    if plan.replicas and postgres is None:
        plan.replicas = False
        plan.notes.append("Replicas row left out: it runs on PostgreSQL, which did not answer.")
        say(plan.notes[-1])
    if plan.only_replicas and not plan.replicas:
        raise SystemExit("the replicas row cannot run here: " + " ".join(plan.notes))
    meta: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": machine(postgres),
    }
    work = Path(tempfile.mkdtemp(prefix="flask-or-fastapi-"))
    recorder = Recorder()
    began = time.perf_counter()
    bake_seconds: dict[str, list[float]] = {}
    suites: dict[str, list[float]] = {framework: [] for framework in FRAMEWORKS}
    try:
        meta["templates"] = export_templates(work, plan.working_tree)
        say(f"baking the templates of the {meta['templates']} into {work}")
        projects: dict[tuple[str, str, bool], Project] = {}
        for framework in FRAMEWORKS:
            if plan.replicas:
                projects[(framework, "postgresql", True)] = bake_project(framework, "postgresql", True, work)
            if plan.only_replicas:
                continue
            for database in plan.databases:
                for auth in plan.auths:
                    if (framework, database, auth) not in projects:
                        projects[(framework, database, auth)] = bake_project(framework, database, auth, work)
            for database, auth in (("sqlite", True), ("none", False)):
                if (framework, database, auth) not in projects:
                    projects[(framework, database, auth)] = bake_project(framework, database, auth, work)
            bake_seconds[framework] = time_bakes(framework, work, plan.bakes)
            say(f"  {framework}: bake median {statistics.median(bake_seconds[framework]):.2f} s")
        bare = work / "bare"
        bare.mkdir()
        for framework, source in BARE_APPS.items():
            (bare / f"bare_{framework}.py").write_text(source)
        for repeat in range(plan.repeat):
            if plan.replicas and postgres is not None:
                say(f"repeat {repeat + 1}/{plan.repeat}: 1, 2 and 3 replicas behind HAProxy")
                measure_replicas(plan, repeat, projects, work, postgres, recorder)
            if plan.only_replicas:
                continue
            say(f"repeat {repeat + 1}/{plan.repeat}: /health under every server")
            measure_health(plan, repeat, projects, work, recorder)
            say(f"repeat {repeat + 1}/{plan.repeat}: items routes under the shipped servers")
            measure_database(plan, repeat, projects, work, postgres, recorder)
            if plan.test_suites:
                for framework in FRAMEWORKS:
                    recorder.attempt(
                        f"the {framework} project's own test suite",
                        functools.partial(time_test_suite, projects[(framework, "sqlite", True)], suites[framework]),
                    )
                    if suites[framework]:
                        say(f"  {framework}: own test suite {suites[framework][-1]:.1f} s")
    finally:
        PROCESSES.stop_all()
        if postgres is not None:
            postgres.drop_all()
        shutil.rmtree(work, ignore_errors=True)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    meta["minutes"] = (time.perf_counter() - began) / 60
    meta["machine"]["load_average_at_end"] = os.getloadavg()[0]
    meta["settings"] = {
        "duration_s": plan.duration,
        "warmup_s": plan.warmup,
        "repeat": plan.repeat,
        "workers": plan.workers,
        "concurrencies": list(plan.concurrencies),
        "wrk": f"wrk -t 1 -c <concurrency> -d <seconds> --timeout {WRK_TIMEOUT} --latency -s <script>",
        "smoke": plan.smoke,
        "notes": plan.notes,
    }
    if plan.replicas:
        meta["replicas_run"] = {
            "started": meta["started"],
            "minutes": meta["minutes"],
            "load_average_at_start": meta["machine"]["load_average_at_start"],
            "load_average_at_end": meta["machine"]["load_average_at_end"],
            "repeat": plan.repeat,
            "duration_s": plan.duration,
            "workers": plan.workers,
            "concurrency": REPLICA_CONCURRENCY,
            "haproxy": haproxy_version(),
            "postgresql": meta["machine"].get("postgresql"),
            "separate": plan.only_replicas,
        }
    results = {
        "meta": meta,
        "servers": [
            {"framework": s.framework, "key": s.key, "label": s.label, "shipped": s.shipped, "baseline": s.baseline}
            for s in plan.servers
        ],
        "runs": recorder.runs,
        "server_starts": recorder.servers,
        "bake_seconds": bake_seconds,
        "test_suite_seconds": suites,
        "failures": recorder.failures,
    }
    results["summary"] = summarise(results)
    return results


# --- summaries ----------------------------------------------------------------------


def select(results: dict[str, Any], **criteria: Any) -> list[dict[str, Any]]:
    return [run for run in results["runs"] if all(run.get(key) == value for key, value in criteria.items())]


def span(values: Iterable[float]) -> list[float] | None:
    values = list(values)
    return [min(values), max(values)] if values else None


def ratios(results: dict[str, Any], numerator: dict[str, Any], denominator: dict[str, Any]) -> list[float]:
    """Per repeat, requests/s of one selection over another (both measured in the same repeat)."""
    top = {run["repeat"]: run["rps"] for run in select(results, **numerator)}
    bottom = {run["repeat"]: run["rps"] for run in select(results, **denominator)}
    return [top[r] / bottom[r] for r in sorted(top) if r in bottom and bottom[r] > 0]


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "generated_over_bare": {},
        "shipped_over_baseline": {},
        "shipped_over_baseline_bare": {},
        "winners": {},
    }
    keys = {s["key"] for s in results["servers"]}
    for framework in FRAMEWORKS:
        ship, base = shipped(framework).key, baseline(framework).key
        health = {"kind": "health", "framework": framework}
        if ship in keys:
            summary["generated_over_bare"][framework] = {
                str(c): span(
                    ratios(
                        results,
                        {**health, "server": ship, "app": "generated", "concurrency": c},
                        {**health, "server": ship, "app": "bare", "concurrency": c},
                    )
                )
                for c in CONCURRENCIES
            }
            summary["generated_over_bare"][f"{framework}-nodb"] = {
                str(c): span(
                    ratios(
                        results,
                        {**health, "server": ship, "app": "generated-nodb", "concurrency": c},
                        {**health, "server": ship, "app": "bare", "concurrency": c},
                    )
                )
                for c in CONCURRENCIES
            }
        if ship in keys and base in keys:
            summary["shipped_over_baseline"][framework] = {
                str(c): span(
                    ratios(
                        results,
                        {**health, "server": ship, "app": "generated", "concurrency": c},
                        {**health, "server": base, "app": "generated", "concurrency": c},
                    )
                )
                for c in CONCURRENCIES
            }
            summary["shipped_over_baseline_bare"][framework] = {
                str(c): span(
                    ratios(
                        results,
                        {**health, "server": ship, "app": "bare", "concurrency": c},
                        {**health, "server": base, "app": "bare", "concurrency": c},
                    )
                )
                for c in CONCURRENCIES
            }
        summary["winners"][framework] = winners(results, framework)
        runs = select(results, kind="replicas", framework=framework)
        if runs:
            one = {"kind": "replicas", "framework": framework, "replicas": 1}
            summary.setdefault("replicas_over_one", {})[framework] = {
                str(n): span(ratios(results, {**one, "replicas": n}, one))
                for n in sorted({run["replicas"] for run in runs})
            }
    return summary


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs]
    return statistics.median(values) if values else None


def winners(results: dict[str, Any], framework: str) -> dict[str, Any]:
    """Per concurrency, the server with the most requests/s and the one with the lowest p99 (medians)."""
    found: dict[str, Any] = {}
    servers = [s["key"] for s in results["servers"] if s["framework"] == framework]
    for concurrency in CONCURRENCIES:
        medians = {}
        for key in servers:
            runs = select(
                results, kind="health", framework=framework, server=key, app="generated", concurrency=concurrency
            )
            if runs:
                medians[key] = (median_of(runs, "rps"), median_of(runs, "p99_ms"))
        if medians:
            found[str(concurrency)] = {
                "throughput": max(medians, key=lambda k: medians[k][0] or 0),
                "p99": min(medians, key=lambda k: medians[k][1] or float("inf")),
            }
    robust = []
    for key in servers:
        checks = [
            r["slow_clients"]["answered"]
            for r in results["server_starts"]
            if r["server"] == key and r["app"] == "generated" and "slow_clients" in r
        ]
        if checks and all(checks):
            robust.append(key)
    found["answers_beside_slow_clients"] = robust
    return found


# --- output -------------------------------------------------------------------------


def number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def spread(values: list[float], unit: str = "") -> str:
    if not values:
        return DASH
    low, high = min(values), max(values)
    text = number(low) if number(low) == number(high) else f"{number(low)}\u2013{number(high)}"
    return text + unit


def ratio_text(pair: list[float] | None) -> str:
    if not pair:
        return DASH
    low, high = pair
    return f"{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}\u2013{high:.2f}"


def label(results: dict[str, Any], key: str) -> str:
    return next((s["label"] for s in results["servers"] if s["key"] == key), server_by_key(key).label)


def startup(results: dict[str, Any], **criteria: Any) -> list[float]:
    return [r["startup_s"] for r in results["server_starts"] if all(r.get(k) == v for k, v in criteria.items())]


def slow_client_text(results: dict[str, Any], server: str, app: str) -> str:
    checks = [
        r["slow_clients"]
        for r in results["server_starts"]
        if r["server"] == server and r["app"] == app and "slow_clients" in r
    ]
    if not checks:
        return DASH
    answered = [c for c in checks if c["answered"]]
    if len(answered) == len(checks):
        return "answers (" + spread([c["seconds"] * 1000 for c in answered], " ms") + ")"
    if not answered:
        return f"**no answer in {SLOW_CLIENT_BOUND_SECONDS:g} s**"
    return f"answered {len(answered)} of {len(checks)}"


def health_table(results: dict[str, Any]) -> list[str]:
    concurrencies = results["meta"]["settings"]["concurrencies"]
    head = ["framework", "server", "app"]
    head += [f"req/s @{c}" for c in concurrencies] + [f"p50 / p99 ms @{c}" for c in concurrencies]
    head += ["errors", "peak RSS/worker", "start-up", "two stalled clients"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for server in results["servers"]:
        key = server["key"]
        for app in ("generated", "generated-nodb", "bare"):
            runs = select(results, kind="health", server=key, app=app)
            if not runs:
                continue
            by_c = {c: select(results, kind="health", server=key, app=app, concurrency=c) for c in concurrencies}
            name = server["label"] + (" **(shipped)**" if server["shipped"] else "")
            row = [TITLES[server["framework"]], name, {"generated-nodb": "generated, no database"}.get(app, app)]
            row += [spread([r["rps"] for r in by_c[c]]) for c in concurrencies]
            row += [
                f"{spread([r['p50_ms'] for r in by_c[c]])} / {spread([r['p99_ms'] for r in by_c[c]])}"
                for c in concurrencies
            ]
            row.append(str(sum(r["errors"] for r in runs)))
            row.append(f"{max(r['peak_rss_mb'] for r in runs):.0f} MB")
            row.append(spread(startup(results, server=key, app=app), " s"))
            row.append(slow_client_text(results, key, app))
            lines.append("| " + " | ".join(row) + " |")
    return lines


def items_table(results: dict[str, Any]) -> list[str]:
    concurrencies = results["meta"]["settings"]["concurrencies"]
    head = ["route", "database", "auth", "framework"]
    head += [f"req/s @{c}" for c in concurrencies] + [f"p50 / p99 ms @{c}" for c in concurrencies] + ["errors"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    routes = list(dict.fromkeys(r["route"] for r in select(results, kind="items")))
    for route in routes:
        for database in ("sqlite", "postgresql"):
            for auth in (False, True):
                for framework, server in [
                    *((f, shipped(f).key) for f in FRAMEWORKS),
                    ("flask", ALTERNATIVE_ITEMS_SERVER),
                ]:
                    runs = select(
                        results,
                        kind="items",
                        route=route,
                        database=database,
                        auth=auth,
                        framework=framework,
                        server=server,
                    )
                    if not runs:
                        continue
                    by_c = {c: [r for r in runs if r["concurrency"] == c] for c in concurrencies}
                    name = (
                        TITLES[framework]
                        if server == shipped(framework).key
                        else f"Flask under {label(results, server)}"
                    )
                    row = [f"`{route}`", database, "token" if auth else "off", name]
                    row += [spread([r["rps"] for r in by_c[c]]) for c in concurrencies]
                    row += [
                        f"{spread([r['p50_ms'] for r in by_c[c]])} / {spread([r['p99_ms'] for r in by_c[c]])}"
                        for c in concurrencies
                    ]
                    row.append(str(sum(r["errors"] for r in runs)))
                    lines.append("| " + " | ".join(row) + " |")
    return lines


def headline(results: dict[str, Any]) -> list[str]:
    """The two headline ratios, as sentences."""
    summary = results["summary"]
    c = str(HEADLINE_CONCURRENCY)
    lines = []
    for framework in FRAMEWORKS:
        ship, base = shipped(framework), baseline(framework)
        over_bare = summary["generated_over_bare"].get(framework, {}).get(c)
        nodb = summary["generated_over_bare"].get(f"{framework}-nodb", {}).get(c)
        over_base = summary["shipped_over_baseline"].get(framework, {}).get(c)
        lines += [
            f"- **{TITLES[framework]}**, `GET /health` at {c} connections:",
            f"  - generated service / bare {TITLES[framework]} app, both under {ship.label}: "
            f"**{ratio_text(over_bare)}** ({target(over_bare, BARE_TARGET)}); baked without a database, so "
            f"without the `SELECT 1`: {ratio_text(nodb)} ({target(nodb, BARE_TARGET)})",
            f"  - {ship.label} / {base.label}, generated service: **{ratio_text(over_base)}\u00d7** "
            f"({target(over_base, SERVER_TARGET)}); bare apps: "
            f"{ratio_text(summary['shipped_over_baseline_bare'].get(framework, {}).get(c))}\u00d7",
        ]
    return lines


# The aims of the template (issue 7): the generated /health keeps this share of a bare app,
# and the shipped server gives this multiple of the plain one, at 32 connections.
BARE_TARGET, SERVER_TARGET = 0.85, 1.3


def target(pair: list[float] | None, aim: float) -> str:
    """Whether a ratio's range reaches ``aim``: in every repeat, in none, or in part of them."""
    if not pair:
        return "not measured"
    low, high = pair
    verdict = "met in every repeat" if low >= aim else "not met in any repeat" if high < aim else "met only in part"
    return f"aim {aim:g}: {verdict}"


def other_timings(results: dict[str, Any]) -> list[str]:
    lines = ["| | FastAPI | Flask |", "|---|---|---|"]
    bakes = results["bake_seconds"]
    cells = [
        f"{statistics.median(bakes[f]):.2f} s (median of {len(bakes[f])})" if bakes.get(f) else DASH for f in FRAMEWORKS
    ]
    lines.append("| bake the default project | " + " | ".join(cells) + " |")
    cells = [spread(startup(results, server=shipped(f).key, app="generated"), " s") for f in FRAMEWORKS]
    lines.append("| start-up under the shipped server (spawn to first 200) | " + " | ".join(cells) + " |")
    suites = results["test_suite_seconds"]
    cells = [spread(suites.get(f, []), " s") for f in FRAMEWORKS]
    lines.append("| the default project's own test suite | " + " | ".join(cells) + " |")
    return lines


def machine_text(results: dict[str, Any]) -> list[str]:
    meta = results["meta"]
    m, s = meta["machine"], meta["settings"]
    versions = ", ".join(f"{name} {version}" for name, version in m["versions"].items() if version)
    lines = [
        f"- {m['cores']} cores ({m['cpu']}), {m['system']}, Python {m['python']}, {m['wrk']}"
        + (f", PostgreSQL {m['postgresql']}" if m.get("postgresql") else "")
        + f"; load average {m['load_average_at_start']:.1f} at the start, {m['load_average_at_end']:.1f} at the end "
        "(the machine was shared with other work: hence the ranges).",
        f"- {versions}.",
        f"- {s['repeat']} repeat(s) of every measurement, {s['duration_s']:g} s each (at one connection "
        f"{max(1, int(s['duration_s']) // 2)} s) after a {s['warmup_s']:g} s warm-up per server start, "
        f"`{s['wrk']}`; servers on loopback with {s['workers']} worker process(es) each, wrk (one thread) on the "
        "same machine, the two frameworks' runs interleaved. Ranges are min\u2013max over the repeats. "
        f"Run of {meta['started']}, {meta['minutes']:.0f} minutes; templates of the {meta.get('templates', '?')}.",
    ]
    lines += [f"- {note}" for note in s["notes"]]
    return lines


def body(results: dict[str, Any], chart: str, level: str) -> list[str]:
    """The answer, the headline ratios, the tables, the chart and the machine, with ``level`` headings."""
    settings = results["meta"]["settings"]
    return [
        f"The answer from the run of {results['meta']['started']} ({settings['repeat']} repeat(s); "
        f"ranges are min{DASH}max over the repeats, other figures medians):",
        "",
        answer(results),
        "",
        f"{level} Headline ratios",
        "",
        *headline(results),
        "",
        f"{level} `GET /health` under each server",
        "",
        "The generated default project (SQLite, auth; its `/health` runs `SELECT 1`) against a bare app "
        "of the same framework with one route returning the same JSON, both under the same server in the "
        "same run; under the shipped server also the project baked without a database. Requests/s count "
        "successful answers only; errors count answers other than 2xx/3xx and socket errors (0 expected). "
        "*Two stalled clients*: with two "
        f"connections holding half-sent requests, does `/health` answer within {SLOW_CLIENT_BOUND_SECONDS:g} s?",
        "",
        *health_table(results),
        "",
        f"{level} The items routes under the shipped servers",
        "",
        "Each on a fresh database with 20 items; reads first, then the writes. With auth, every request "
        "carries a valid bearer token of a user registered over HTTP before the run.",
        "",
        *items_table(results),
        "",
        *replicas_text(results, level),
        f"{level} Baking, start-up, tests",
        "",
        *other_timings(results),
        "",
        f"![Requests per second and p99 latency, per server and per framework]({chart})",
        "",
        f"{level} Machine and method",
        "",
        *machine_text(results),
        "",
        *failures_text(results, level),
    ]


def replicas_text(results: dict[str, Any], level: str) -> list[str]:
    """The replicas row: its table, and what its ratios mean here and elsewhere."""
    runs = select(results, kind="replicas")
    if not runs:
        return []
    run = results["meta"].get("replicas_run", {})
    workers = run.get("workers", 1)
    ratios_of = results["summary"].get("replicas_over_one", {})
    lines = [
        f"{level} Replicas behind HAProxy",
        "",
        f"`{REPLICA_ROUTE}` with a bearer token, through HAProxy {run.get('haproxy', '')} (roundrobin, health "
        f"checks on `/health`) at {run.get('concurrency', REPLICA_CONCURRENCY)} connections, with 1, 2 and 3 "
        f"replicas of the shipped server ({workers} worker each) that share one PostgreSQL database and one "
        f"`SECRET_KEY`; the schema migrated once before they start. *{TIMES} one replica* is requests/s over "
        f"those of one replica in the same repeat (min{DASH}max over "
        f"{run.get('repeat', '?')} repeat(s) of {run.get('duration_s', '?')} s; run of {run.get('started', '?')}"
        + (", measured separately from the rest of this page" if run.get("separate") else "")
        + f", load average {run.get('load_average_at_start', 0):.1f} at its start).",
        "",
        f"| framework | replicas | req/s | {TIMES} one replica | p50 / p99 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for framework in FRAMEWORKS:
        for count in sorted({r["replicas"] for r in runs if r["framework"] == framework}):
            chosen = select(results, kind="replicas", framework=framework, replicas=count)
            ratio = ratios_of.get(framework, {}).get(str(count))
            lines.append(
                f"| {TITLES[framework]} | {count} | {spread([r['rps'] for r in chosen])} | "
                f"{ratio_text(ratio) + TIMES if ratio else DASH} | "
                f"{spread([r['p50_ms'] for r in chosen])} / {spread([r['p99_ms'] for r in chosen])} | "
                f"{sum(r['errors'] for r in chosen)} |"
            )
    cores = results["meta"]["machine"].get("cores") or "?"
    measured = "; ".join(
        f"{TITLES[f]} " + ", ".join(f"{n} replicas {ratio_text(pair)}{TIMES}" for n, pair in by_n.items() if n != "1")
        for f, by_n in ratios_of.items()
    )
    lines += [
        "",
        f"What these ratios mean ({measured}): the replicas, HAProxy, PostgreSQL and wrk all share this "
        f"machine's {cores} cores. One replica with {workers} worker uses at most {workers} core(s); a second "
        "replica can only have what PostgreSQL, HAProxy and wrk leave of the other cores, so on a quiet machine "
        "the ratio for two stays well under 2; a third replica has no core of its own and only takes turns with "
        "the others. "
        "What the row shows is that replicas behind a balancer share the load without errors; it is not the "
        "factor a cluster would give. Where each replica has cores of its own and the load generator runs "
        "elsewhere, throughput grows nearly in proportion to the replicas until a shared part sets the limit: "
        "the database first (every replica opens up to `DATABASE_POOL_SIZE` + `DATABASE_MAX_OVERFLOW` "
        "connections per worker, which must stay under the server's `max_connections`), then the balancer. "
        "The row runs on PostgreSQL because replicas that scale out share a database server: a SQLite file "
        "cannot be shared between machines, and its single writer would measure its lock, not the replicas.",
        "",
    ]
    load = run.get("load_average_at_start", 0.0)
    if isinstance(cores, int) and load > cores:
        lines[-1:-1] = [
            "",
            f"This row was measured with a load average of {load:.1f} on {cores} cores: other work held most of "
            "the CPU, and the scheduler shares it per process, so every replica process added took a larger "
            "slice from that work. Ratios above what the cores allow (near 2 for three replicas) measure that, "
            "not scaling; on a quiet machine expect them lower.",
        ]
    return lines


def failures_text(results: dict[str, Any], level: str) -> list[str]:
    failures = results.get("failures") or []
    if not failures:
        return []
    lines = [f"{level} What could not be measured", ""]
    lines += [f"- {f['what']}: `{f['error'].splitlines()[0][:300]}`" for f in failures]
    return [*lines, ""]


def markdown(results: dict[str, Any], chart: str) -> str:
    return "\n".join(["# Flask or FastAPI? Measured.", "", *body(results, chart, "##")])


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = HEADLINE_CONCURRENCY
    figure, axes = plt.subplots(2, 2, figsize=(15, 10))

    def bars(
        ax: Any,
        groups: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]],
        metric: str,
        names: tuple[str, str],
        title: str,
        ylabel: str,
    ) -> None:
        width = 0.38
        for offset, index, colour in ((-width / 2, 1, "tab:blue"), (width / 2, 2, "tab:orange")):
            mids, lows, highs = [], [], []
            for _name, *pair in groups:
                values = [float(r[metric]) for r in pair[index - 1]] or [0.0]
                mid = statistics.median(values)
                mids.append(mid)
                lows.append(mid - min(values))
                highs.append(max(values) - mid)
            xs = [i + offset for i in range(len(groups))]
            ax.bar(xs, mids, width, yerr=[lows, highs], capsize=3, color=colour, label=names[index - 1])
        if any(len(line) > 12 for g in groups for line in g[0].splitlines()):
            ax.set_xticks(range(len(groups)), [g[0] for g in groups], rotation=20, ha="right", fontsize=8)
        else:
            ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)

    servers = results["servers"]
    health_groups = [
        (
            f"{TITLES[s['framework']]}\n{s['label']}",
            select(results, kind="health", server=s["key"], app="generated", concurrency=c),
            select(results, kind="health", server=s["key"], app="bare", concurrency=c),
        )
        for s in servers
    ]
    bars(
        axes[0][0],
        health_groups,
        "rps",
        ("generated", "bare"),
        f"GET /health, {c} connections: requests/s (bar: median, line: min\u2013max)",
        "requests/s",
    )
    top = max(results["meta"]["settings"]["concurrencies"])
    health_groups = [
        (
            f"{TITLES[s['framework']]}\n{s['label']}",
            select(results, kind="health", server=s["key"], app="generated", concurrency=c),
            select(results, kind="health", server=s["key"], app="generated", concurrency=top),
        )
        for s in servers
    ]
    bars(
        axes[0][1],
        health_groups,
        "p99_ms",
        (f"{c} connections", f"{top} connections"),
        "GET /health of the generated service: p99 latency",
        "p99 (ms)",
    )
    axes[0][1].set_yscale("log")
    item_groups = []
    for route in dict.fromkeys(r["route"] for r in select(results, kind="items")):
        for database in ("sqlite", "postgresql"):
            for auth in (False, True):
                fastapi = select(
                    results,
                    kind="items",
                    route=route,
                    database=database,
                    auth=auth,
                    framework="fastapi",
                    server=shipped("fastapi").key,
                    concurrency=c,
                )
                flask = select(
                    results,
                    kind="items",
                    route=route,
                    database=database,
                    auth=auth,
                    framework="flask",
                    server=shipped("flask").key,
                    concurrency=c,
                )
                if fastapi or flask:
                    short = {"GET /api/v1/items/{id}": "GET one", "POST /api/v1/items": "POST"}.get(route, "GET list")
                    where = {"sqlite": "SQLite", "postgresql": "PG"}[database]
                    item_groups.append((f"{short}\n{where}\n{'token' if auth else 'no auth'}", fastapi, flask))
    if item_groups:
        bars(
            axes[1][0],
            item_groups,
            "rps",
            ("FastAPI", "Flask"),
            f"Items routes under the shipped servers, {c} connections: requests/s",
            "requests/s",
        )
        bars(
            axes[1][1],
            item_groups,
            "p99_ms",
            ("FastAPI", "Flask"),
            f"Items routes under the shipped servers, {c} connections: p99 latency",
            "p99 (ms)",
        )
    else:
        for ax in axes[1]:
            ax.set_axis_off()
    figure.suptitle(f"Flask or FastAPI? Measured ({results['meta']['started']})")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def readme_section(results: dict[str, Any], out: Path) -> str:
    """The README's section: the answer, the tables and chart of the last run, and how to reproduce."""
    relative = out.resolve().relative_to(ROOT).as_posix()
    lines = [
        START_MARKER,
        "## Flask or FastAPI? Measured.",
        "",
        "`benchmarks/run.py` bakes a FastAPI and a Flask project with the same answers, serves each under "
        "every candidate production server on loopback and drives it with wrk at 1, 32 and 256 connections. "
        f"Its last run wrote [`{relative}/results.json`]({relative}/results.json), "
        f"[`{relative}/results.md`]({relative}/results.md) and the chart below; this section is written "
        "from them. To reproduce (about 20 minutes on two cores; `--smoke` for a one-minute check, "
        "`--duration` and `--repeat` to trade time for precision):",
        "",
        "```bash",
        "sudo apt-get install -y wrk haproxy   # the load generator and the balancer (Debian/Ubuntu)",
        "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt",
        ".venv/bin/python benchmarks/run.py --readme",
        ".venv/bin/python benchmarks/run.py --only-replicas --readme   # the replicas row alone, merged in",
        "```",
        "",
        *body(results, f"{relative}/results.png", "###"),
    ]
    return "\n".join(lines).rstrip() + "\n" + END_MARKER


def times(value: float) -> str:
    return f"{value:.2f}\u00d7"


def spread_times(values: list[float]) -> str:
    if not values:
        return DASH
    low, high = min(values), max(values)
    return times(low) if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}{DASH}{high:.2f}\u00d7"


def at(chosen: list[int], among: list[int]) -> str:
    if not chosen:
        return f"at none of {', '.join(map(str, among))} connections"
    if chosen == among:
        return (
            f"at {among[0]} connections" if len(among) == 1 else f"at all of {', '.join(map(str, among))} connections"
        )
    return f"at {' and '.join(map(str, chosen))} connection{'s' if chosen != [1] else ''} only"


def answer(results: dict[str, Any]) -> str:
    """A plain answer, worded from the figures of this run: every number below is computed."""
    summary = results["summary"]
    concurrencies = results["meta"]["settings"]["concurrencies"]
    c = HEADLINE_CONCURRENCY
    top = max(concurrencies)
    loads = sorted({c, top} & set(concurrencies))

    def med(metric: str = "rps", **criteria: Any) -> float | None:
        if criteria.get("kind") == "items" and "server" not in criteria:
            criteria["server"] = shipped(criteria["framework"]).key
        return median_of(select(results, **criteria), metric)

    points = []

    # Plain requests: the frameworks alone (bare apps) and the generated services, under the shipped servers.
    bare = {f: med(kind="health", framework=f, server=shipped(f).key, app="bare", concurrency=c) for f in FRAMEWORKS}
    nodb = {
        f: med(kind="health", framework=f, server=shipped(f).key, app="generated-nodb", concurrency=c)
        for f in FRAMEWORKS
    }
    generated = {
        f: med(kind="health", framework=f, server=shipped(f).key, app="generated", concurrency=c) for f in FRAMEWORKS
    }
    if all(bare.values()) and all(nodb.values()) and all(generated.values()):

        def lead(figures: dict[str, float | None]) -> str:
            a, b = float(figures["fastapi"] or 0), float(figures["flask"] or 0)
            (winner, high), (loser, low) = sorted((("FastAPI", a), ("Flask", b)), key=lambda p: -p[1])
            return f"{winner} serves {times(high / low)} {loser}'s requests/s ({number(high)} against {number(low)})"

        points.append(
            f"**Requests that do little** (`GET /health`, {c} connections, each under its shipped server, "
            f"medians): the bare frameworks, {lead(bare)}; the generated services baked without "
            f"a database, {lead(nodb)}; the default projects, whose `/health` also runs `SELECT 1` on SQLite, "
            f"{lead(generated)}."
        )

    # The items routes: Flask's threads against FastAPI's event loop, on each database.
    names = {
        "GET /api/v1/items/{id}": "one item",
        "GET /api/v1/items?limit=20": "a page",
        "POST /api/v1/items": "create",
    }
    auth_text = {(False, True): "auth off and on", (True,): "with auth", (False,): "without auth"}.get(
        tuple(sorted({r["auth"] for r in select(results, kind="items")})), ""
    )
    for database in ("sqlite", "postgresql"):
        shares: dict[str, list[float]] = {}
        p99s: list[float] = []
        for route in dict.fromkeys(r["route"] for r in select(results, kind="items")):
            for auth in (False, True):
                for load in loads:
                    criteria = {"kind": "items", "route": route, "database": database, "auth": auth}
                    a = med(framework="fastapi", concurrency=load, **criteria)
                    b = med(framework="flask", concurrency=load, **criteria)
                    pa = med("p99_ms", framework="fastapi", concurrency=load, **criteria)
                    pb = med("p99_ms", framework="flask", concurrency=load, **criteria)
                    if a and b and pa and pb:
                        shares.setdefault(route, []).append(b / a)
                        p99s.append(pb / pa)
        if not shares:
            continue
        every = [share for values in shares.values() for share in values]
        flask_ahead = sum(share > 1 for share in every)
        name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[database]
        per_route = ", ".join(f"{names.get(route, route)} {spread_times(values)}" for route, values in shares.items())
        points.append(
            f"**Database routes on {name}** (Flask's requests/s over FastAPI's, medians, {auth_text}, at "
            f"{' and '.join(map(str, loads))} connections): {per_route}; Flask is ahead in {flask_ahead} of "
            f"{len(every)} comparisons, and its p99 is {spread_times(p99s)} FastAPI's."
        )
        failed = {
            f: sum(
                r["errors"]
                for r in select(results, kind="items", database=database, framework=f, server=shipped(f).key)
            )
            for f in FRAMEWORKS
        }
        if any(failed.values()):
            points[-1] += (
                f" Not every request succeeded: {failed['fastapi']} failed answers or socket errors for FastAPI, "
                f"{failed['flask']} for Flask (see the table; requests/s count successful answers only)."
            )

    # Does async help?
    pg_reads = []
    for route in ("GET /api/v1/items/{id}", "GET /api/v1/items?limit=20", "POST /api/v1/items"):
        for auth in (False, True):
            a = med(kind="items", framework="fastapi", route=route, database="postgresql", auth=auth, concurrency=top)
            b = med(kind="items", framework="flask", route=route, database="postgresql", auth=auth, concurrency=top)
            if a and b:
                pg_reads.append(a / b)
    if pg_reads:
        ahead = sum(ratio > 1 for ratio in pg_reads)
        verdict = (
            "yes, here"
            if ahead > len(pg_reads) / 2
            else "not on this machine"
            if ahead < len(pg_reads) / 2
            else "it is a draw here"
        )
        points.append(
            f"**Does async help on the database-bound routes?** {verdict[0].upper()}{verdict[1:]}: at {top} "
            f"connections on PostgreSQL FastAPI serves {spread_times(pg_reads)} Flask's requests/s "
            f"(ahead in {ahead} of {len(pg_reads)}). With the database on loopback a query waits well under a "
            "millisecond, so each worker is busy with Python (validation, ORM, JSON), not with waiting; an event "
            "loop pays off when requests wait long on the network, which this benchmark does not simulate."
        )

    # What the server contributes, and whether the shipped one wins.
    for framework in FRAMEWORKS:
        ship, base = shipped(framework), baseline(framework)
        parts = []
        for load in concurrencies:
            over = summary["shipped_over_baseline"].get(framework, {}).get(str(load))
            if over:
                parts.append(f"{ratio_text(over)}\u00d7 at {load} connection{'s' if load > 1 else ''}")
        if not parts:
            continue
        text = (
            f"**What the server contributes, {TITLES[framework]}:** {ship.label} gives the generated `/health` "
            f"{', '.join(parts)} the requests/s of {base.label} (ranges over the repeats)."
        )
        found = summary["winners"].get(framework, {})
        most = {load: found.get(str(load), {}).get("throughput") for load in concurrencies}
        fastest = {load: found.get(str(load), {}).get("p99") for load in concurrencies}
        robust = found.get("answers_beside_slow_clients", [])
        failing = [
            label(results, s["key"])
            for s in results["servers"]
            if s["framework"] == framework and s["key"] not in robust
        ]
        wins = [load for load in concurrencies if most[load] == ship.key]
        lows = [load for load in concurrencies if fastest[load] == ship.key]
        text += (
            f" Among the {TITLES[framework]} candidates (medians), {ship.label} has the most requests/s "
            f"{at(wins, concurrencies)} and the lowest p99 {at(lows, concurrencies)}"
        )
        others = sorted({label(results, k) for k in [*most.values(), *fastest.values()] if k and k != ship.key})
        if others:
            text += f" (elsewhere the lead goes to {', '.join(others)})"
        text += "."
        if failing:
            text += f" Beside two stalled half-sent requests, {', '.join(failing)} did not answer `/health` in time."
        else:
            text += " Every candidate answered `/health` at once beside two stalled half-sent requests."
        points.append(text)

    # Flask's thread pool on the database routes: the shipped server against the same with one thread.
    alternative = select(results, kind="items", server=ALTERNATIVE_ITEMS_SERVER)
    if alternative:
        threads: dict[str, list[float]] = {}
        for route in dict.fromkeys(r["route"] for r in alternative):
            for load in sorted({r["concurrency"] for r in alternative}):
                criteria = {"kind": "items", "framework": "flask", "route": route, "auth": True}
                criteria["database"] = alternative[0]["database"]
                one = med(server=ALTERNATIVE_ITEMS_SERVER, concurrency=load, **criteria)
                many = med(concurrency=load, **criteria)
                if one and many:
                    threads.setdefault(route, []).append(many / one)
        every = [share for values in threads.values() for share in values]
        per_route = ", ".join(f"{names.get(route, route)} {spread_times(values)}" for route, values in threads.items())
        points.append(
            f"**Flask's threads on the database routes** ({alternative[0]['database']}, auth, medians at each "
            f"connection count): {shipped('flask').label} serves {per_route} the requests/s of the same server with "
            f"one blocking thread, more in {sum(share > 1 for share in every)} of {len(every)} comparisons."
        )

    # What the generated service costs against a bare app.
    costs = []
    for framework in FRAMEWORKS:
        full = summary["generated_over_bare"].get(framework, {}).get(str(c))
        light = summary["generated_over_bare"].get(f"{framework}-nodb", {}).get(str(c))
        if full and light:
            costs.append(f"{TITLES[framework]} {ratio_text(full)} ({ratio_text(light)} without a database)")
    if costs:
        points.append(
            f"**What the generated code costs:** under the shipped server at {c} connections the generated "
            f"`/health` serves {'; '.join(costs)} of a bare app's requests/s. Without a database the difference "
            "is the generated middleware (request logging, error handling) and the response model; with one, the "
            "`SELECT 1` that every `/health` runs costs most of the rest."
        )
    return "\n".join(f"- {point}" for point in points)


def write_outputs(results: dict[str, Any], out: Path, update_readme: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    chart(results, out / "results.png")
    (out / "results.md").write_text(markdown(results, "results.png"))
    if update_readme:
        README.write_text(with_section(README.read_text(), readme_section(results, out)))


def with_section(text: str, section: str) -> str:
    """``text`` with the benchmark section replaced, or inserted after the "Options" section."""
    if START_MARKER in text and END_MARKER in text:
        before, rest = text.split(START_MARKER, 1)
        return before + section + rest.split(END_MARKER, 1)[1]
    match = re.search(r"^## Options$.*?(?=^## )", text, re.MULTILINE | re.DOTALL)
    if not match:
        raise SystemExit(f"{README} has neither a {START_MARKER} section nor an '## Options' section to follow")
    return text[: match.end()] + section + "\n\n" + text[match.end() :]


def merge_replicas(previous: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The earlier results with their replicas row replaced by the one just measured."""
    previous["runs"] = [r for r in previous["runs"] if r.get("kind") != "replicas"] + select(new, kind="replicas")
    previous["meta"]["replicas_run"] = new["meta"]["replicas_run"]
    previous["failures"] = [f for f in previous.get("failures", []) if not f["what"].startswith("replicas of")] + new[
        "failures"
    ]
    previous["summary"] = summarise(previous)
    return previous


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="a quick check: 1 s runs, one repeat, a subset")
    parser.add_argument("--duration", type=positive, help="whole seconds per wrk run (default 2, smoke 1)")
    parser.add_argument("--repeat", type=positive, help="repeats of every measurement (default 3, smoke 1)")
    parser.add_argument("--workers", type=positive, default=1, help="worker processes per server (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results folder (default {DEFAULT_OUT})")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's section from the results")
    parser.add_argument("--render", action="store_true", help="only redraw the outputs from <out>/results.json")
    parser.add_argument(
        "--working-tree", action="store_true", help="bake the templates as they are on disk, not as last committed"
    )
    parser.add_argument("--no-postgres", action="store_true", help="leave PostgreSQL out (and the replicas row)")
    parser.add_argument(
        "--only-replicas",
        action="store_true",
        help="measure only the replicas row; merge it into <out>/results.json when that exists",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out = args.out.resolve()
    if args.render:
        results = json.loads((out / "results.json").read_text())
        results["summary"] = summarise(results)
        write_outputs(results, out, args.readme)
        say(f"redrew {out}")
        return 0
    smoke = args.smoke
    plan = Plan(
        duration=args.duration or (1 if smoke else 2),
        warmup=1,
        repeat=args.repeat or (1 if smoke else 3),
        workers=args.workers,
        concurrencies=(HEADLINE_CONCURRENCY,) if smoke else CONCURRENCIES,
        servers=tuple(s for s in SERVERS if s.key in SMOKE_SERVERS) if smoke else SERVERS,
        databases=("sqlite",) if smoke or args.no_postgres else ("sqlite", "postgresql"),
        auths=(True,) if smoke else (False, True),
        bakes=2 if smoke else 10,
        test_suites=not smoke,
        smoke=smoke,
        working_tree=args.working_tree,
        replicas=not args.no_postgres,
        only_replicas=args.only_replicas,
    )
    if smoke:
        plan.notes.append("Smoke run: a subset of servers, one concurrency, SQLite only, no test-suite timing.")
    # Ctrl-C stops the run even when it was started in the background (where SIGINT starts ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    say(f"estimated {plan.estimate_minutes():.0f} minutes")
    try:
        results = measure(plan, out)
    except KeyboardInterrupt:
        say("interrupted: every server and load generator it started has been stopped")
        return 130
    finally:
        PROCESSES.stop_all()
    if args.only_replicas and (out / "results.json").exists():
        results = merge_replicas(json.loads((out / "results.json").read_text()), results)
    write_outputs(results, out, args.readme)
    minutes = results["meta"]["replicas_run"]["minutes"] if args.only_replicas else results["meta"]["minutes"]
    say(f"\nwrote {out}/results.json, results.md, results.png ({minutes:.1f} minutes)\n")
    say("\n".join(headline(results)))
    if results["failures"]:
        say(f"\n{len(results['failures'])} measurement(s) failed: see results.md, 'What could not be measured'")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
