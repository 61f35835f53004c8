"""Bake every supported combination and hold each project to what it promises:
rendered, pruned by its manifest, lint- and type-clean, its own tests green."""

from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import Any

import pytest

from tests.baking import (
    DATABASES,
    FRAMEWORKS,
    SERVER_DATABASES,
    Baked,
    bake,
    load_hook,
    project_env,
    run,
    run_project_tests,
)
from tests.checks import dangling_references, manifest_paths, traces, unrendered

COMBINATIONS = [
    pytest.param(framework, database, use_auth, id=f"{framework}-{database}-{'auth' if use_auth else 'noauth'}")
    for framework, database, use_auth in product(FRAMEWORKS, DATABASES, (True, False))
    if not (database == "none" and use_auth)
]
# The optional capabilities baked on (their declined side is every combination above):
# the worker with each database it applies to, observability with a file, a server and no
# database, Kubernetes with the server databases and without one, and each option declined
# beside the others chosen.
CAPABILITIES: tuple[dict[str, Any], ...] = (
    {"database": "sqlite", "use_auth": True, "use_worker": True, "use_observability": True},
    {"database": "postgresql", "use_auth": True, "use_worker": True, "use_observability": True, "use_kubernetes": True},
    {"database": "mysql", "use_auth": True, "use_worker": True, "use_kubernetes": True},
    {"database": "none", "use_auth": False, "use_observability": True, "use_kubernetes": True},
)
WITH_CAPABILITIES = [
    pytest.param(
        framework,
        answers,
        id=f"{framework}-{answers['database']}-"
        + "-".join(k.removeprefix("use_") for k, v in answers.items() if v is True),
    )
    for framework, answers in product(FRAMEWORKS, CAPABILITIES)
]
# Options that add no Python: one at a time on top of the defaults. Everything the linters
# and the project's suite read is then the default bake's, byte for byte, which
# test_combination checks in full: these tests prove that identity and check the layout.
ONE_AT_A_TIME: tuple[dict[str, Any], ...] = ({"use_docker": False}, {"ci": "gitlab"}, {"ci": "none"})
WITHOUT_PYTHON = [
    pytest.param(framework, answers, id=f"{framework}-{'-'.join(f'{k}={v}' for k, v in answers.items())}")
    for framework, answers in product(FRAMEWORKS, ONE_AT_A_TIME)
]
# The files those options own (.env differs anyway: its secret is drawn at each bake).
OPTION_FILES = {"README.md", "Dockerfile", ".dockerignore", "compose.yaml", ".gitlab-ci.yml", ".env"}
PERIPHERAL = [
    # Free text with apostrophes, accents and punctuation lands in TOML, Python and Markdown.
    pytest.param(
        framework,
        {
            "project_name": "Zoë's Café API",
            "description": "Orders & invoices: 100% async, <fast> and 'typed'",
            "author_name": "Zoë O'Brien",
            "author_email": "zoe.o'brien@example.co.uk",
        },
        id=f"{framework}-free-text",
    )
    for framework in FRAMEWORKS
]


def check_layout(baked: Baked) -> None:
    leftovers = unrendered(baked.path)
    assert not leftovers, "unrendered template syntax:\n" + "\n".join(leftovers)
    gone, kept = manifest_paths(baked)
    assert not [p for p in gone if (baked.path / p).exists()], f"declined pieces still there: {sorted(gone)}"
    missing = [p for p in kept if not (baked.path / p).exists()]
    assert not missing, f"chosen pieces missing: {missing}"
    found = traces(baked)
    assert not found, "declined options left traces:\n" + "\n".join(found)
    dangling = dangling_references(baked.path)
    assert not dangling, "references to documents the project does not contain:\n" + "\n".join(dangling)
    check_env(baked.path)


def check_env(project: Path) -> None:
    """``.env`` is ``.env.example`` with a fresh secret in place of the placeholder, and git ignores it."""
    example = (project / ".env.example").read_text().splitlines()
    env = (project / ".env").read_text().splitlines()
    assert len(env) == len(example)
    for placeholder, line in zip(example, env, strict=True):
        if placeholder.startswith("SECRET_KEY="):
            assert line.startswith("SECRET_KEY=") and len(line) >= len("SECRET_KEY=") + 64 and line != placeholder
        else:
            assert line == placeholder
    assert ".env" in (project / ".gitignore").read_text().splitlines()


def check_project(baked: Baked, mypy_cache: Path, test_database_url: str | None) -> None:
    """The linters and the project's own suite, run as its README tells a developer."""
    env = project_env(MYPY_CACHE_DIR=str(mypy_cache))
    run(["ruff", "check", "--no-cache", "."], baked.path, env)
    run(["ruff", "format", "--check", "--no-cache", "."], baked.path, env)
    run(["python", "-m", "mypy"], baked.path, env)
    if test_database_url:
        env["TEST_DATABASE_URL"] = test_database_url
    run_project_tests(baked.path, env)


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "database", "use_auth"), COMBINATIONS)
def test_combination(
    cookies: Any, framework: str, database: str, use_auth: bool, mypy_cache: Path, database_url: Any
) -> None:
    test_url = database_url(database) if database in SERVER_DATABASES else None
    baked = bake(cookies, framework, database=database, use_auth=use_auth)
    check_layout(baked)
    check_project(baked, mypy_cache, test_url)


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "answers"), WITH_CAPABILITIES)
def test_capabilities(
    cookies: Any, framework: str, answers: dict[str, Any], mypy_cache: Path, database_url: Any
) -> None:
    database = answers["database"]
    test_url = database_url(database) if database in SERVER_DATABASES else None
    baked = bake(cookies, framework, **answers)
    check_layout(baked)
    check_project(baked, mypy_cache, test_url)


def files_of(project: Path) -> dict[str, bytes]:
    return {str(path.relative_to(project)): path.read_bytes() for path in project.rglob("*") if path.is_file()}


@pytest.mark.parametrize(("framework", "answers"), WITHOUT_PYTHON)
def test_an_option_without_python_changes_only_its_own_files(
    cookies: Any, framework: str, answers: dict[str, Any]
) -> None:
    baked = bake(cookies, framework, **answers)
    check_layout(baked)
    default = files_of(bake(cookies, framework).path)
    chosen = files_of(baked.path)
    changed = sorted(
        path
        for path in set(default) | set(chosen)
        if default.get(path) != chosen.get(path) and path not in OPTION_FILES and not path.startswith(".github/")
    )
    assert changed == [], (
        f"{answers} changes {changed}: it is no longer an option without Python, so give it the"
        " full checks of test_capabilities"
    )


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "answers"), PERIPHERAL)
def test_peripheral_option(cookies: Any, framework: str, answers: dict[str, Any], mypy_cache: Path) -> None:
    baked = bake(cookies, framework, **answers)
    check_layout(baked)
    check_project(baked, mypy_cache, None)


@pytest.mark.parametrize(("framework", "database"), list(product(FRAMEWORKS, DATABASES)))
def test_the_longest_slug_allowed_keeps_the_code_within_its_line_length(
    cookies: Any, framework: str, database: str
) -> None:
    """The slug is written into import lines: at the hook's limit they must still pass ruff."""
    longest = "s" * load_hook("pre_gen_project").MAX_SLUG_LENGTH
    baked = bake(cookies, framework, project_slug=longest, database=database, use_auth=database != "none")
    run(["ruff", "check", "--no-cache", "."], baked.path, project_env())
    run(["ruff", "format", "--check", "--no-cache", "."], baked.path, project_env())
