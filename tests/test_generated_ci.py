"""The generated CI, run for real on what a user's CI sees: a fresh `git clone` of the
baked project (so no `.env`, which git ignores), each `run:` step of
`.github/workflows/ci.yml` as written, with the job's and the step's `env:`, and its
services played by this machine's servers on the ports the workflow maps. And the
template-drift check: a newer template is reported as a warning, never a red build."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.baking import BIN, FRAMEWORKS, Baked, bake, connect, project_env, require_server, run
from tests.test_entry_points import snapshot

__all__ = ["snapshot"]  # the module-scoped fixture: a git repository of the working tree

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
# Settings that would point uv at another environment than the clone's own .venv.
FOREIGN = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "CONDA_PREFIX", "UV_NO_SYNC", "UV_FROZEN", "UV_OFFLINE")
CASES = [
    pytest.param(framework, database, id=f"{framework}-{database}")
    for framework in FRAMEWORKS
    for database in ("sqlite", "postgresql")
]


def ci_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in project_env().items() if key not in FOREIGN}
    env["UV_PYTHON_DOWNLOADS"] = "never"  # the machine's Python, as setup-python provides one
    env["CI"] = "true"
    env.update(extra)
    return env


def fresh_clone(baked: Baked, where: Path) -> Path:
    """The baked project committed as a user would (git ignores .env), then cloned."""
    run([*GIT, "init", "-q", "-b", "main"], baked.path)
    run([*GIT, "add", "-A"], baked.path)
    run([*GIT, "commit", "-q", "-m", "Baked"], baked.path)
    clone = where / "clone"
    run(["git", "clone", "-q", str(baked.path), str(clone)], where)
    assert (baked.path / ".env").exists() and not (clone / ".env").exists()
    return clone


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def play_services(job: dict[str, Any]) -> list[tuple[str, str]]:
    """Stand this machine's servers in for the job's services; return the databases made."""
    made: list[tuple[str, str]] = []
    for name, service in job.get("services", {}).items():
        ports = [int(mapping.split(":")[0]) for mapping in service.get("ports", [])]
        if name == "postgres":
            require_server("postgresql")
            assert service["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust" and ports == [5432]
            database = service["env"]["POSTGRES_DB"]
            with connect("postgresql") as connection, connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
                cursor.execute(f"CREATE DATABASE {database}")
            made.append(("postgresql", database))
        elif name == "redis":
            assert ports == [6379], service
            if not redis_answers(6379):
                problem = "no Redis server at 127.0.0.1:6379"
                if os.environ.get("REQUIRE_DB_SERVERS") == "1":
                    pytest.fail(f"{problem}; REQUIRE_DB_SERVERS=1 makes this a failure")
                pytest.skip(problem)
        else:
            pytest.fail(f"the workflow has a service this test cannot play: {name}")
    return made


def run_step(step: dict[str, Any], clone: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    step_env = {**env, **{key: str(value) for key, value in step.get("env", {}).items()}}
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", step["run"]],
        cwd=clone,
        env=step_env,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )


def condition_holds(step: dict[str, Any], clone: Path) -> bool:
    condition = step.get("if")
    if condition is None:
        return True
    assert condition == "hashFiles('.cruft.json') != ''", f"a condition this test cannot evaluate: {condition}"
    return (clone / ".cruft.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "database"), CASES)
def test_a_fresh_clone_passes_its_github_ci(cookies: Any, tmp_path: Path, framework: str, database: str) -> None:
    # A slug of its own, so that the test database the workflow's service makes is this test's.
    baked = bake(cookies, framework, database=database, project_slug=f"ci_{framework}_{database}")
    clone = fresh_clone(baked, tmp_path)
    job = yaml.safe_load((clone / ".github" / "workflows" / "ci.yml").read_text())["jobs"]["test"]
    made = play_services(job)
    env = ci_env(**{key: str(value) for key, value in job.get("env", {}).items()})
    try:
        ran = []
        for step in job["steps"]:
            if "run" not in step or not condition_holds(step, clone):
                continue  # `uses:` steps: the checkout is the clone, the Python this machine's
            done = run_step(step, clone, env)
            output = done.stdout + done.stderr
            print(f"--- {step.get('name', step['run'])}: exit {done.returncode}\n{output[-3000:]}")
            assert done.returncode == 0, f"step {step.get('name')!r} failed in a fresh clone:\n{output}"
            ran.append(step["run"])
            if step["run"].endswith("pytest"):
                summary = output.strip().splitlines()[-1]
                assert "passed" in summary and "skipped" not in summary, summary
        assert "uv run pytest" in ran and "uv run mypy" in ran, ran
    finally:
        for kind, name in made:
            with connect(kind) as connection, connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.slow
def test_template_drift_is_a_warning_not_a_failure(cookies: Any, snapshot: Path, tmp_path: Path) -> None:
    """A project made with cruft, then a template commit: `cruft check` now fails, and the
    workflow's drift step turns that into a warning annotation with a green build."""
    template = tmp_path / "template"
    run(["git", "clone", "-q", str(snapshot), str(template)], tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    created = subprocess.run(
        [str(BIN / "cruft"), "create", str(template), "--directory", "flask-template", "--no-input"],
        cwd=work,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    project = work / "my_service"
    run([*GIT, "init", "-q", "-b", "main"], project)
    run([*GIT, "add", "-A"], project)
    run([*GIT, "commit", "-q", "-m", "Made with cruft"], project)
    assert json.loads((project / ".cruft.json").read_text())["template"] == str(template)

    readme = template / "flask-template" / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\nA line the template added later.\n")
    run([*GIT, "commit", "-q", "-am", "Template change"], template)
    assert subprocess.run([str(BIN / "cruft"), "check"], cwd=project, env=project_env(), check=False).returncode != 0

    steps = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())["jobs"]["test"]["steps"]
    (drift,) = [step for step in steps if "cruft" in step.get("run", "")]
    assert condition_holds(drift, project) and drift["continue-on-error"] is True
    done = run_step(drift, project, ci_env())
    output = done.stdout + done.stderr
    print(output)
    assert done.returncode == 0, output
    assert "::warning title=Template drift::" in output

    # GitLab: the same check in a job of its own, allowed to fail (a warning on the pipeline).
    gitlab = tmp_path / "gitlab"
    gitlab_done = subprocess.run(
        [str(BIN / "cookiecutter"), str(template / "flask-template"), "--no-input", "ci=gitlab", "-o", str(gitlab)],
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert gitlab_done.returncode == 0, gitlab_done.stderr
    pipeline = yaml.safe_load((gitlab / "my_service" / ".gitlab-ci.yml").read_text())
    assert pipeline["template"]["allow_failure"] is True
    assert pipeline["template"]["script"][-1] == "uvx cruft check"
    # And its tests get the Redis service they read from TEST_REDIS_URL.
    assert "redis:7" in [service["name"] for service in pipeline["test"]["services"]]
    assert pipeline["test"]["variables"]["TEST_REDIS_URL"] == "redis://redis:6379/0"
