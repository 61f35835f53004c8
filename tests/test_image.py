"""The generated Dockerfile and compose.yaml, built and run for real with podman (no Docker
engine, no registry): the base image is Debian's Python (tests/images.py).

For each framework, with the default answers and with PostgreSQL + worker + observability:

- the image builds; its user is not root; its HEALTHCHECK passes, on whatever port the
  server is told to use (GRANIAN_PORT);
- the server's start command never migrates: the README's migration command, run once in a
  container of its own, applies the schema;
- the HTTP contract (tests/contract.py) holds through the container's port;
- SIGTERM (`podman stop`) ends it within the stop timeout, and every write it acknowledged
  is there when it starts again;
- the worker image runs a job end to end (a welcome email to an SMTP server of the test's own);
- compose.yaml comes up under podman-compose on local stand-ins for its images, published on
  127.0.0.1, migrates once in its `migrate` service, passes the contract walk, and
  `down -v` leaves no container, volume or network behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import contract
from tests.baking import BIN, Baked, bake, require_tool
from tests.images import build, image_size, inspect, podman, python_image, service_images
from tests.private_servers import private_redis, smtp_server
from tests.serving import free_port, secret_key

pytestmark = [pytest.mark.image, pytest.mark.slow]

FULL = {"database": "postgresql", "use_worker": True, "use_observability": True}
CASES = [
    pytest.param("fastapi", {}, id="fastapi-default"),
    pytest.param("fastapi", FULL, id="fastapi-postgresql-worker-observability"),
    pytest.param("flask", {}, id="flask-default"),
    pytest.param("flask", FULL, id="flask-postgresql-worker-observability"),
]
PASSWORD = "correct-horse-battery"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30  # podman stop's grace period before SIGKILL


class Mailbox:
    """The recipients of every message the SMTP server accepted."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"

    def wait_for(self, recipients: set[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not recipients <= set(self.received):
            assert time.monotonic() < deadline, f"no email within {timeout} s for {recipients - set(self.received)}"
            time.sleep(0.2)


def migrate_command(baked: Baked) -> list[str]:
    """The README's migration command (section "Docker")."""
    if baked.framework == "fastapi":
        return ["alembic", "upgrade", "head"]
    return ["flask", "--app", baked.slug, "db", "upgrade"]


def wait_for_health(base_url: str, container: str, timeout: float = START_TIMEOUT) -> float:
    """Seconds until `/health` answers 200; fails with the container's log if it never does."""
    started = time.monotonic()
    while True:
        with suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return time.monotonic() - started
        running = podman("inspect", "--format={{.State.Running}}", container, check=False).stdout.strip()
        if running != "true" or time.monotonic() - started > timeout:
            logs = podman("logs", container, check=False)
            raise AssertionError(f"{container} never answered 200 on /health:\n{logs.stdout}{logs.stderr}")
        time.sleep(0.25)


def wait_healthy(container: str, timeout: float = 60) -> None:
    """The image's own HEALTHCHECK, run by podman, passes."""
    deadline = time.monotonic() + timeout
    while True:
        check = podman("healthcheck", "run", container, check=False)
        if check.returncode == 0:
            return
        assert time.monotonic() < deadline, f"HEALTHCHECK of {container} failed: {check.stdout}{check.stderr}"
        time.sleep(1)


def token(base_url: str, email: str) -> dict[str, str]:
    response = httpx.post(f"{base_url}/api/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=30)
    assert response.status_code == 201, response.text
    response = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": email, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def write_until_stopped(base_url: str, headers: dict[str, str], stop: threading.Event, acknowledged: list[int]) -> None:
    """POST items until the server goes away; keep the id of every 201."""
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                response = client.post("/api/v1/items", json={"name": f"write {n}"})
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])


@contextmanager
def containers(prefix: str) -> Iterator[list[str]]:
    """Names handed out for the test's containers and volumes; all removed afterwards."""
    made: list[str] = []
    try:
        yield made
    finally:
        for name in made:
            podman("rm", "--force", "--time=0", name, check=False)
        podman("volume", "rm", "--force", f"{prefix}-data", check=False)


def check_image(baked: Baked, tag: str, database_url: Any, tmp_path: Path) -> dict[str, float]:
    """Run the image as the README does; the figures measured."""
    figures: dict[str, float] = {}
    secret = secrets.token_urlsafe(48)
    prefix = f"it-{uuid.uuid4().hex[:8]}"
    full = baked.context["database"] == "postgresql"
    user = str(inspect(tag)["Config"]["User"])  # type: ignore[index]
    assert user not in ("", "0", "root"), f"the image runs as {user!r}"
    with ExitStack() as stack:
        made = stack.enter_context(containers(prefix))
        side = stack.enter_context(_full_side(tmp_path)) if full else {}
        port = free_port()
        settings = {"SECRET_KEY": secret, "LOGIN_RATE_LIMIT": "1000/minute"}
        if full:
            # The machine's PostgreSQL and the test's Redis and SMTP server, on the host network;
            # the server on a port of the test's own, so the HEALTHCHECK must follow GRANIAN_PORT.
            settings |= {
                "DATABASE_URL": database_url("postgresql"),
                "BROKER_URL": f"redis://127.0.0.1:{side['redis_port']}/0",
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(side["smtp_port"]),
                "OUTBOX_DRAIN_SECONDS": "1",
                "GRANIAN_PORT": str(port),
                "METRICS_PORT": str(free_port()),
            }
            where = ["--network=host"]
            published: list[str] = []
        else:
            podman("volume", "create", f"{prefix}-data")
            where = [f"--volume={prefix}-data:/app/data"]
            published = [f"--publish=127.0.0.1:{port}:8000"]
        env = [f"--env={key}={value}" for key, value in settings.items()]
        base_url = f"http://127.0.0.1:{port}"
        app = f"{prefix}-app"
        made.append(app)

        # The start command alone: the server answers, and has not migrated.
        started = time.monotonic()
        podman("run", "--detach", f"--name={app}", f"--stop-timeout={STOP_TIMEOUT}", *published, *where, *env, tag)
        figures["start to first 200 (s)"] = wait_for_health(base_url, app)
        figures["first 200 after `podman run` (s)"] = time.monotonic() - started
        uid = podman("exec", app, "id", "-u").stdout.strip()
        assert uid not in ("", "0"), f"the server runs as uid {uid}"
        wait_healthy(app)

        # The README's migration, once, in a container of its own: it finds the schema to make.
        migrated = podman("run", "--rm", "--no-healthcheck", *where, *env, tag, *migrate_command(baked))
        output = migrated.stdout + migrated.stderr
        assert "Running upgrade" in output, f"the migration found nothing to do: the app had migrated\n{output}"

        contract.walk(base_url, database=True, use_auth=True, secret_key=secret)
        if full:
            metrics = httpx.get(f"http://127.0.0.1:{settings['METRICS_PORT']}/metrics", timeout=10)
            assert metrics.status_code == 200 and "# TYPE" in metrics.text

        if full:
            # The worker: the same image with the README's Celery command, one job end to end.
            worker = f"{prefix}-worker"
            made.append(worker)
            podman(
                "run", "--detach", f"--name={worker}", "--no-healthcheck", *where, *env, tag,
                "celery", "--app", f"{baked.slug}.worker:celery_app", "worker", "--beat", "--loglevel", "INFO",
                "--concurrency", "1",
            )  # fmt: skip
            side["mailbox"].wait_for({"ada@example.com", "bob@example.com"})

        # SIGTERM under writes: bounded, and every acknowledged write survives it.
        headers = token(base_url, "writer@example.com")
        stop, acknowledged = threading.Event(), list[int]()
        writers = [
            threading.Thread(target=write_until_stopped, args=(base_url, headers, stop, acknowledged)) for _ in range(4)
        ]
        for writer in writers:
            writer.start()
        time.sleep(1.5)
        stopping = time.monotonic()
        podman("stop", f"--time={STOP_TIMEOUT}", app)
        figures["stop under writes (s)"] = time.monotonic() - stopping
        stop.set()
        for writer in writers:
            writer.join(timeout=30)
        exit_code = podman("inspect", "--format={{.State.ExitCode}}", app).stdout.strip()
        assert exit_code != "137", f"SIGTERM did not end the server within {STOP_TIMEOUT} s: it was killed"
        assert acknowledged, "no write was acknowledged before the stop"
        podman("start", app)
        wait_for_health(base_url, app)
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            missing = [i for i in acknowledged if client.get(f"/api/v1/items/{i}").status_code != 200]
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged writes lost: {missing[:10]}"
        figures["writes acknowledged before the stop"] = len(acknowledged)
    return figures


@contextmanager
def _full_side(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The worker's broker (a Redis of the test's own) and an SMTP server that keeps the mail."""
    require_tool(shutil.which("redis-server"), "redis-server is needed for a private broker")
    redis_port, mailbox = free_port(), Mailbox()
    with private_redis(redis_port, tmp_path / "redis.log"), smtp_server(mailbox) as smtp_port:
        yield {"redis_port": redis_port, "smtp_port": smtp_port, "mailbox": mailbox}


def compose(project: str, cwd: Path, env: dict[str, str], *args: str, timeout: float = 600) -> str:
    program = require_tool(
        shutil.which("podman-compose") or str(BIN / "podman-compose"), "podman-compose is needed (pip install)"
    )
    completed = subprocess.run(
        [program, "--project-name", project, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"podman-compose {' '.join(args)} exited {completed.returncode}:\n{output}"
    return output


def leftovers(project: str) -> list[str]:
    label = f"--filter=label=io.podman.compose.project={project}"
    return [
        line
        for kind in (("ps", "--all"), ("volume", "ls"), ("network", "ls"))
        for line in podman(
            *kind, label, "--format={{.Names}}" if kind[0] == "ps" else "--format={{.Name}}"
        ).stdout.split()
    ]


def check_compose(baked: Baked, tag: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    project = f"ct{uuid.uuid4().hex[:8]}"
    postgres, redis = service_images()
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "SECRET_KEY"))}
    env |= {
        "APP_IMAGE": tag,
        "POSTGRES_IMAGE": postgres,
        "REDIS_IMAGE": redis,
        "APP_PORT": str(port),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
    }
    secret = secret_key(baked)
    env["SECRET_KEY"] = secret  # Flask's compose file reads it from the environment or .env
    try:
        started = time.monotonic()
        compose(project, baked.path, env, "up", "--detach")
        names = podman("ps", "--all", f"--filter=label=io.podman.compose.project={project}", "--format={{.Names}}")
        by_service = {name.split("_")[-2]: name for name in names.stdout.split()}
        app = by_service["app"]
        wait_for_health(f"http://127.0.0.1:{port}", app)
        figures["compose up to first 200 (s)"] = time.monotonic() - started
        # Published on loopback only.
        published = podman("port", app).stdout.strip()
        assert published == f"8000/tcp -> 127.0.0.1:{port}", published
        # The migrate service ran the migrations, once; the app never did.
        migrate = by_service["migrate"]
        assert podman("wait", migrate, timeout=120).stdout.strip() == "0", podman("logs", migrate).stderr
        migrate_log = podman("logs", migrate)
        assert "Running upgrade" in migrate_log.stdout + migrate_log.stderr
        app_log = podman("logs", app)
        assert "Running upgrade" not in app_log.stdout + app_log.stderr
        contract.walk(f"http://127.0.0.1:{port}", database=True, use_auth=True, secret_key=secret)
        for service in ("worker", "redis", "db"):
            if service in by_service:
                state = podman("inspect", "--format={{.State.Running}}", by_service[service]).stdout.strip()
                logs = podman("logs", by_service[service], check=False)
                assert state == "true", f"{service} is not running:\n{logs.stdout}{logs.stderr}"
        if "worker" in by_service:
            deadline = time.monotonic() + 60
            while " ready." not in (log := podman("logs", by_service["worker"], check=False)).stdout + log.stderr:
                assert time.monotonic() < deadline, f"the worker never got ready:\n{log.stdout}{log.stderr}"
                time.sleep(0.5)
    finally:
        compose(project, baked.path, env, "down", "--volumes", timeout=300)
    left = leftovers(project)
    assert not left, f"`down -v` left {left}"
    return figures


@pytest.mark.parametrize(("framework", "answers"), CASES)
def test_image_and_compose(
    cookies: Any, tmp_path: Path, database_url: Any, framework: str, answers: dict[str, Any]
) -> None:
    python_image()
    baked = bake(cookies, framework, project_name=f"Image {framework}", use_docker=True, **answers)
    tag = f"localhost/template-test/{baked.slug}-{uuid.uuid4().hex[:8]}:latest"
    try:
        seconds = build(baked.path, tag)
        figures = {"build (s)": seconds, "image size (MB)": image_size(tag) / 1e6}
        figures |= check_image(baked, tag, database_url, tmp_path)
        figures |= check_compose(baked, tag)
    finally:
        podman("rmi", "--force", tag, check=False)
    print(f"\n{framework} {answers or 'default'}: " + ", ".join(f"{key} {value:.1f}" for key, value in figures.items()))
