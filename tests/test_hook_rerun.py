"""The post-generation hook run a second time in a generated project (as a tool
that replays the template over a project may do) changes nothing: the .env and
its secret are kept, nothing more is pruned, and it does not fail."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.environment import StrictEnvironment

from tests.baking import FRAMEWORKS, bake, project_env, template_dir

OPTIONS = [
    pytest.param({}, id="defaults"),
    pytest.param({"database": "postgresql", "ci": "gitlab"}, id="postgresql-gitlab"),
    pytest.param({"database": "none", "use_auth": False, "use_docker": False, "ci": "none"}, id="bare"),
]


def snapshot(project: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file and folder under ``project``: its mode and, for a file, its bytes."""
    tree: dict[str, tuple[int, bytes | None]] = {}
    for path in sorted(project.rglob("*")):
        mode = path.lstat().st_mode
        tree[str(path.relative_to(project))] = (stat.S_IMODE(mode), path.read_bytes() if path.is_file() else None)
    return tree


def rendered_hook(framework: str, context: dict[str, Any], where: Path) -> Path:
    """The template's post-generation hook rendered with the bake's answers, as cookiecutter renders it."""
    source = (template_dir(framework) / "hooks" / "post_gen_project.py").read_text()
    environment = StrictEnvironment(context={"cookiecutter": context}, keep_trailing_newline=True)
    hook = where / "post_gen_project.py"
    hook.write_text(environment.from_string(source).render(cookiecutter=context))
    return hook


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("answers", OPTIONS)
def test_rerunning_the_post_generation_hook_changes_nothing(
    cookies: Any, tmp_path: Path, framework: str, answers: dict[str, Any]
) -> None:
    baked = bake(cookies, framework, **answers)
    before = snapshot(baked.path)
    assert ".env" in before, "the first run wrote .env"
    hook = rendered_hook(framework, baked.context, tmp_path)
    again = subprocess.run(
        [sys.executable, str(hook)],
        cwd=baked.path,
        env=project_env(PWD=str(baked.path)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, f"the hook failed on its own project:\n{again.stdout}{again.stderr}"
    assert "Traceback" not in again.stderr, again.stderr
    assert "Kept the existing .env" in again.stdout
    after = snapshot(baked.path)
    assert sorted(set(before) - set(after)) == [], "the second run removed these"
    assert sorted(set(after) - set(before)) == [], "the second run added these"
    changed = sorted(path for path in before if before[path] != after[path])
    assert changed == [], f"the second run changed these: {changed}"
