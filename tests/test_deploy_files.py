"""The Docker and CI files, checked by reading them (no Docker engine runs here):
the chosen Python, a non-root image with a health check, the database beside
the service, and a pipeline that installs, lints, type-checks and tests."""

from __future__ import annotations

import re
from itertools import product
from typing import Any

import pytest
import yaml

from tests.baking import DATABASES, FRAMEWORKS, SERVER_DATABASES, bake

PYTHON = "3.12"  # not the default, so that the answer is seen to flow through
DB_IMAGES = {"postgresql": ("postgres",), "mysql": ("mariadb", "mysql")}
CHECKS = ("pip install", "ruff check", "ruff format --check", "mypy", "pytest")

CASES = [pytest.param(f, d, id=f"{f}-{d}") for f, d in product(FRAMEWORKS, DATABASES)]


def answers(database: str, **more: Any) -> dict[str, Any]:
    return {"database": database, "use_auth": database != "none", "python_version": PYTHON, **more}


def image_of(service: Any) -> str:
    """A service's image, as compose, GitHub (image:) or GitLab (name: or a bare string) spell it."""
    if isinstance(service, dict):
        return str(service.get("image") or service.get("name") or "")
    return str(service)


def default_of(image: str) -> str:
    """The image compose runs when its variable is unset: `${POSTGRES_IMAGE:-postgres:17}` -> postgres:17."""
    match = re.fullmatch(r"\$\{\w+:-(.+)\}", image)
    return match.group(1) if match else image


def is_database(image: str, database: str) -> bool:
    return image.startswith(DB_IMAGES.get(database, ("-",)))


@pytest.mark.parametrize(("framework", "database"), CASES)
def test_dockerfile_and_compose(cookies: Any, framework: str, database: str) -> None:
    baked = bake(cookies, framework, **answers(database, use_docker=True))
    dockerfile = (baked.path / "Dockerfile").read_text()
    (default,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert default == f"python:{PYTHON}-slim", "the base image is a build argument, the chosen Python by default"
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile, re.MULTILINE | re.IGNORECASE)
    assert len(stages) >= 2 and stages[0][1], "a multi-stage build: a named build stage, then the runtime"
    assert all(image == "${PYTHON_IMAGE}" for image, _ in stages), stages
    runtime = dockerfile[dockerfile.rfind("\nFROM") :]
    users = re.findall(r"^USER\s+(\S+)", runtime, re.MULTILINE)
    assert users and users[-1] not in ("root", "0"), "the runtime stage runs as a non-root user"
    assert re.search(r"^HEALTHCHECK\b.*/health", runtime, re.MULTILINE | re.DOTALL)
    assert re.search(r"^CMD\b", runtime, re.MULTILINE)
    ignored = (baked.path / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored, ".env (the secret) stays out of the image"

    compose = yaml.safe_load((baked.path / "compose.yaml").read_text())
    services: dict[str, Any] = compose["services"]
    app = services["app"]
    assert all(str(port).startswith("127.0.0.1:") for port in app["ports"]), "published on loopback only"
    assert all(s.get("restart") == "unless-stopped" for name, s in services.items() if name != "migrate"), services
    built = {name for name, service in services.items() if "build" in service}
    assert {service["image"] for name, service in services.items() if name in built} == {app["image"]}
    databases = {name: s for name, s in services.items() if is_database(default_of(image_of(s)), database)}
    if database != "none":
        migrate = services["migrate"]
        assert "upgrade" in migrate["command"] and "upgrade" not in str(app.get("command", "")), "migrations run once"
        assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    if database in SERVER_DATABASES:
        ((name, db),) = databases.items()
        assert "healthcheck" in db and app["depends_on"][name]["condition"] == "service_healthy"
        assert f"@{name}:" in str(app.get("environment", {})), "the app's DATABASE_URL points at the database service"
    else:
        assert set(services) <= {"app", "migrate"}, "no database server for sqlite or none"


@pytest.mark.parametrize(("framework", "database"), CASES)
def test_github_workflow(cookies: Any, framework: str, database: str) -> None:
    baked = bake(cookies, framework, **answers(database, ci="github"))
    (path,) = (baked.path / ".github" / "workflows").iterdir()
    workflow = yaml.safe_load(path.read_text())
    (job,) = workflow["jobs"].values()
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    for command in CHECKS:
        assert command in runs, f"{path.name} does not run {command}"
    (setup,) = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/setup-python")]
    assert str(setup["with"]["python-version"]) == PYTHON
    services = job.get("services", {})
    env = {**workflow.get("env", {}), **job.get("env", {})}
    if database in SERVER_DATABASES:
        assert [s for s in services.values() if is_database(image_of(s), database)], services
        assert env["TEST_DATABASE_URL"].startswith(database), env
    else:
        databases = [s for s in services.values() if not image_of(s).startswith("redis")]
        assert not databases and "TEST_DATABASE_URL" not in env
    # The login limit's shared counter is tested against a Redis service where there is auth.
    redis = [s for s in services.values() if image_of(s).startswith("redis")]
    assert bool(redis) == baked.context["use_auth"] == ("TEST_REDIS_URL" in env), (services, env)


@pytest.mark.parametrize(("framework", "database"), CASES)
def test_gitlab_pipeline(cookies: Any, framework: str, database: str) -> None:
    baked = bake(cookies, framework, **answers(database, ci="gitlab"))
    pipeline = yaml.safe_load((baked.path / ".gitlab-ci.yml").read_text())
    text = yaml.safe_dump(pipeline)
    for command in CHECKS:
        assert command in text, f".gitlab-ci.yml does not run {command}"
    jobs = [job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job]
    default_image = pipeline.get("image") or pipeline.get("default", {}).get("image")
    for job in jobs:
        assert str(job.get("image") or default_image).startswith(f"python:{PYTHON}")
    services = [image_of(service) for job in jobs for service in job.get("services", [])]
    variables = {**pipeline.get("variables", {})}
    for job in jobs:
        variables.update(job.get("variables", {}))
    if database in SERVER_DATABASES:
        assert any(is_database(image, database) for image in services), services
        assert str(variables["TEST_DATABASE_URL"]).startswith(database)
    else:
        databases = [image for image in services if not image.startswith("redis")]
        assert not databases and "TEST_DATABASE_URL" not in variables
    # The login limit's shared counter is tested against a Redis service where there is auth.
    redis = [image for image in services if image.startswith("redis")]
    assert bool(redis) == baked.context["use_auth"] == ("TEST_REDIS_URL" in variables), (services, variables)
