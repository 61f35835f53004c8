"""What the baked projects install: everything they declare is in this
repository's requirements (so the suite installs it once), the Flask project
stays clearly lighter than the FastAPI one, and a default project installs and
passes its tests from scratch by its own README."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.baking import DATABASES, FRAMEWORKS, ROOT, Baked, bake, project_env, run


def declared(baked: Baked) -> list[Requirement]:
    project = tomllib.loads((baked.path / "pyproject.toml").read_text())["project"]
    extras = [req for group in project.get("optional-dependencies", {}).values() for req in group]
    return [Requirement(req) for req in project["dependencies"] + extras]


def runtime(baked: Baked) -> list[Requirement]:
    project = tomllib.loads((baked.path / "pyproject.toml").read_text())["project"]
    return [Requirement(req) for req in project["dependencies"]]


def listed(framework: str) -> set[str]:
    lines = (ROOT / "requirements" / f"{framework}-projects.txt").read_text().splitlines()
    return {canonicalize_name(Requirement(line).name) for line in lines if line.strip() and not line.startswith("#")}


def closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution installing ``requirements`` brings, by the metadata
    of what is installed here."""
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    pending = list(requirements)
    while pending:
        requirement = pending.pop()
        name, extras = canonicalize_name(requirement.name), frozenset(requirement.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        names.add(name)
        for line in importlib.metadata.distribution(name).requires or []:
            child = Requirement(line)
            if child.marker is None or any(child.marker.evaluate({"extra": extra}) for extra in {"", *extras}):
                pending.append(child)
    return names


@pytest.mark.parametrize(("framework", "database"), list(product(FRAMEWORKS, DATABASES)))
def test_every_declared_dependency_is_in_the_requirements(cookies: Any, framework: str, database: str) -> None:
    baked = bake(cookies, framework, database=database, use_auth=database != "none")
    missing = {req.name for req in declared(baked)} - listed(framework)
    missing = {name for name in missing if canonicalize_name(name) not in listed(framework)}
    assert not missing, f"add {sorted(missing)} to requirements/{framework}-projects.txt"


@pytest.mark.parametrize("database", DATABASES)
def test_flask_brings_clearly_fewer_runtime_dependencies(cookies: Any, database: str) -> None:
    answers = {"database": database, "use_auth": database != "none"}
    fastapi = closure(runtime(bake(cookies, "fastapi", **answers)))
    flask = closure(runtime(bake(cookies, "flask", **answers)))
    print(f"{database}: runtime distributions: flask {len(flask)}, fastapi {len(fastapi)}")
    # Both now carry a production server, OpenAPI docs from a package's own assets,
    # pydantic, and python-dotenv (production reads `.env` as the README starts it; FastAPI's
    # comes with pydantic-settings); what stays FastAPI's own is its ASGI stack (starlette,
    # anyio, idna, annotated-doc, opentelemetry-api, uvloop). Flask must bring no more.
    assert len(flask) <= len(fastapi), f"flask {sorted(flask)}\nfastapi {sorted(fastapi)}"


def readme_install_and_test(readme: Path) -> str:
    """The install-and-test line of the README's first command block."""
    first_block = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", readme.read_text(), re.DOTALL)[0]
    (line,) = [line for line in str(first_block).splitlines() if "pip install" in line]
    return line


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_default_project_installs_and_passes_by_its_readme(cookies: Any, framework: str) -> None:
    """A fresh virtualenv, and the README's own install-and-test command as written."""
    baked = bake(cookies, framework)
    command = readme_install_and_test(baked.path / "README.md")
    assert "venv" in command and command.rstrip().endswith("pytest"), command
    run(["bash", "-euo", "pipefail", "-c", command], baked.path, project_env(), timeout=900)
