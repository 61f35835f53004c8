"""Each template's hooks/ must be the single source in hooks/, byte for byte."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.baking import FRAMEWORKS, ROOT, template_dir


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("hook", ["pre_gen_project.py", "post_gen_project.py"])
def test_template_hook_is_a_copy_of_the_source(framework: str, hook: str) -> None:
    copy = template_dir(framework) / "hooks" / hook
    assert copy.read_bytes() == (ROOT / "hooks" / hook).read_bytes(), (
        f"{copy.relative_to(ROOT)} drifted from hooks/{hook}: edit hooks/{hook}, then run python tools/sync_hooks.py"
    )


def test_templates_hold_no_other_hooks() -> None:
    for framework in FRAMEWORKS:
        names = sorted(
            path.name for path in (template_dir(framework) / "hooks").iterdir() if path.name != "__pycache__"
        )
        assert names == ["post_gen_project.py", "pre_gen_project.py"]


def test_sync_tool_check_mode_agrees() -> None:
    completed = subprocess.run(
        [sys.executable, "tools/sync_hooks.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout


def test_no_symlinks_in_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert not [line for line in tracked.splitlines() if line.startswith("120000")]
