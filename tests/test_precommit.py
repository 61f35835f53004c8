"""A freshly baked project, made a git repository, passes its own pre-commit
hooks, which run only the project's tools (nothing fetched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.baking import FRAMEWORKS, bake, project_env, run

OPTIONS = [
    pytest.param({}, id="defaults"),
    pytest.param({"database": "none", "use_auth": False}, id="nodb"),
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_hooks_are_local_and_fetch_nothing(cookies: Any, framework: str) -> None:
    config = yaml.safe_load((bake(cookies, framework).path / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) == {"ruff-check", "ruff-format", "mypy"}
    assert {hook["language"] for hook in hooks.values()} == {"system"}
    assert not [hook for hook in hooks.values() if "additional_dependencies" in hook]


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("answers", OPTIONS)
def test_pre_commit_passes_on_a_fresh_project(
    cookies: Any, tmp_path: Path, mypy_cache: Path, framework: str, answers: dict[str, Any]
) -> None:
    project = bake(cookies, framework, **answers).path
    # Its own pre-commit home: a hook that fetched anything would show up there.
    home = tmp_path / "pre-commit-home"
    env = project_env(PRE_COMMIT_HOME=str(home), MYPY_CACHE_DIR=str(mypy_cache))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    run([*git, "init", "-q", "-b", "main"], project, env)
    run([*git, "add", "-A"], project, env)
    output = run(["pre-commit", "run", "--all-files", "--show-diff-on-failure"], project, env)
    for name in ("ruff check", "ruff format", "mypy"):
        assert any(line.startswith(name) and line.endswith("Passed") for line in output.splitlines()), output
    fetched = [path.name for path in home.glob("repo*")] if home.exists() else []
    assert fetched == [], f"pre-commit fetched hook repositories: {fetched}"
    status = run(["git", "diff", "--stat"], project, env)
    assert status == "", f"the hooks changed files of a fresh project:\n{status}"
