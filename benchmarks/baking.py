"""Baking the templates with cookiecutter's API, and running a baked project's commands."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.processes import bounded
from tests import baking, serving
from tests.baking import ROOT


@dataclass(frozen=True)
class Project:
    framework: str
    database: str
    auth: bool
    path: Path
    slug: str

    @property
    def context(self) -> dict[str, Any]:
        return {"project_slug": self.slug, "database": self.database}

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


def project_env(project_path: Path, **settings: str) -> dict[str, str]:
    """The tests' environment for a baked project (no stray settings of the shell), run from its folder."""
    return baking.project_env(PYTHONPATH=str(project_path), **settings)


def migrate(project: Project, env: dict[str, str]) -> None:
    """The project's schema command, as its README gives it (tests/serving.py)."""
    command, _ = serving.commands(baking.Baked(project.framework, project.path, project.context), 0)
    assert command is not None, f"{project.path.name} has no database to migrate"
    code, output = bounded(command, timeout=120, cwd=project.path, env=env)
    if code != 0:
        raise RuntimeError(f"migrating {project.path.name} failed:\n{output[-3000:]}")
