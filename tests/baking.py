"""Baking a template, the real database servers, and running a command in a
baked project: the pieces every test module shares."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("fastapi", "flask")
DATABASES = ("sqlite", "postgresql", "mysql", "none")
SERVER_DATABASES = ("postgresql", "mysql")
BIN = Path(sys.executable).parent

# The servers of the development and CI machines (see README, "Running the tests").
SERVER_URLS = {
    "postgresql": os.environ.get("TEMPLATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    "mysql": os.environ.get("TEMPLATE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql"),
}

# The Redis a baked project's own Redis tests use: given as TEST_REDIS_URL, those tests are
# required there (each template's README, "Tests"), as the machine's Redis is here.
TEST_REDIS_URL = os.environ.get("TEMPLATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# Settings a developer's shell may carry that must not leak into a baked
# project's own test run.
PROJECT_SETTINGS = (
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "TEST_REDIS_URL",
    "SECRET_KEY",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "CORS_ORIGINS",
    "ENVIRONMENT",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "DOCS_ENABLED",
    "MAX_BODY_BYTES",
    "BODY_TIMEOUT",
    "LOGIN_RATE_LIMIT",
    "REDIS_URL",
    "FORWARDED_ALLOW_IPS",
    "DATABASE_TIMEOUT",
    "DATABASE_POOL_SIZE",
    "DATABASE_MAX_OVERFLOW",
    "DATABASE_POOL_TIMEOUT",
    "DATABASE_POOL_RECYCLE",
    "DATABASE_POOL_PRE_PING",
    "BROKER_URL",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_STARTTLS",
    "SMTP_TIMEOUT",
    "MAIL_FROM",
    "OUTBOX_DRAIN_SECONDS",
    "METRICS_PORT",
    "PROMETHEUS_MULTIPROC_DIR",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER",
    "SENTRY_DSN",
    "FLASK_APP",
    "FLASK_DEBUG",
)


def template_dir(framework: str) -> Path:
    return ROOT / f"{framework}-template"


def template_context(framework: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((template_dir(framework) / "cookiecutter.json").read_text())
    return data


@dataclass
class Baked:
    framework: str
    path: Path
    context: dict[str, Any]

    @property
    def slug(self) -> str:
        return str(self.context["project_slug"])


def bake(cookies: Any, framework: str, **answers: Any) -> Baked:
    """Bake ``framework``'s template with ``answers``; fail with the hook's reason."""
    result = cookies.bake(template=str(template_dir(framework)), extra_context=answers)
    assert result.exception is None, f"baking {framework} with {answers} failed: {result.exception!r}"
    assert result.exit_code == 0
    return Baked(framework, Path(result.project_path), dict(result.context))


def project_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in PROJECT_SETTINGS}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run a command in a baked project; fail with its output when it fails."""
    completed = subprocess.run(
        args,
        cwd=cwd,
        env=env or project_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"`{' '.join(args)}` in {cwd} exited {completed.returncode}:\n{output}"
    return output


def run_project_tests(
    project: Path, env: dict[str, str] | None = None, python: str = "python", timeout: float = 600
) -> str:
    """A baked project's own suite, as its README runs it, with the machine's Redis given to
    its Redis tests; fail when a test fails or skips (a skip is a check the suite never made)."""
    env = dict(env or project_env())
    if any("TEST_REDIS_URL" in test.read_text() for test in (project / "tests").glob("*.py")):
        redis = urlsplit(TEST_REDIS_URL)
        try:
            socket.create_connection((redis.hostname or "127.0.0.1", redis.port or 6379), timeout=3).close()
        except OSError as error:
            missing(f"no Redis at {TEST_REDIS_URL} ({error}) for the project's Redis tests")
        env["TEST_REDIS_URL"] = TEST_REDIS_URL
    with tempfile.TemporaryDirectory() as where:
        report = Path(where) / "junit.xml"
        args = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", f"--junitxml={report}"]
        output = run(args, project, env, timeout)
        suites = list(ElementTree.parse(report).getroot().iter("testsuite"))
    tests = sum(int(suite.get("tests", 0)) for suite in suites)
    skipped = sum(int(suite.get("skipped", 0)) for suite in suites)
    print(f"{project.name}: {tests} tests, {skipped} skipped")
    reasons = [line for line in output.splitlines() if line.startswith("SKIPPED")]
    assert skipped == 0, f"{project.name}'s own suite skipped {skipped} of {tests} tests:\n" + "\n".join(reasons)
    return output


# --- the database servers -------------------------------------------------


def connect(kind: str, database: str | None = None) -> Any:
    url = urlsplit(SERVER_URLS[kind])
    default_database = url.path.lstrip("/")
    if kind == "postgresql":
        import psycopg

        return psycopg.connect(
            host=url.hostname,
            port=url.port or 5432,
            user=url.username,
            password=url.password or None,
            dbname=database or default_database,
            autocommit=True,
            connect_timeout=3,
        )
    import pymysql

    return pymysql.connect(
        host=url.hostname,
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        database=database or default_database,
        autocommit=True,
        connect_timeout=3,
    )


def server_problem(kind: str) -> str | None:
    """Why the ``kind`` server cannot be used, or None when it answers."""
    try:
        connect(kind).close()
    except Exception as error:  # any driver error means "not here"
        return f"{kind} server at {SERVER_URLS[kind]} is not reachable ({error.__class__.__name__}: {error})"
    return None


def missing(problem: str) -> NoReturn:
    """The suite's one rule for a server, tool or browser a test needs and cannot have:
    with REQUIRE_DB_SERVERS=1 (set by .ci/run and the workflow, which install every one) the
    test fails; on a developer's machine it skips, saying what is missing."""
    if os.environ.get("REQUIRE_DB_SERVERS") == "1":
        pytest.fail(f"{problem}; REQUIRE_DB_SERVERS=1 makes this a failure")
    pytest.skip(f"{problem}; install or start it (see README), REQUIRE_DB_SERVERS=1 makes this a failure")


def require_server(kind: str) -> None:
    problem = server_problem(kind)
    if problem is not None:
        missing(problem)


def require_tool(path: str | None, problem: str) -> str:
    """``path`` of a program the test drives, or ``missing(problem)``."""
    if path is not None and Path(path).exists():
        return path
    missing(problem)


def load_hook(name: str) -> ModuleType:
    """The single source of a hook (``hooks/<name>.py``) as a module, unrendered:
    its functions are plain Python, only ``main()`` needs cookiecutter's answers."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "hooks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
