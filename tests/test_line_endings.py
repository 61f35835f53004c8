"""Line endings on Windows checkouts: with core.autocrlf=true (Git for Windows' default),
a clone of this repository and of a generated project still has LF in every text file,
so hooks, shell scripts and generated files keep their bytes; and the hooks run no shell."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from tests.baking import BIN, FRAMEWORKS, ROOT, project_env
from tests.test_entry_points import snapshot

__all__ = ["snapshot"]  # the module-scoped fixture: a git repository of the working tree

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]


def windows_clone(source: Path, target: Path) -> Path:
    """Clone ``source`` as Git for Windows would check it out (CRLF unless told otherwise)."""
    subprocess.run(
        [*GIT, "-c", "core.autocrlf=true", "clone", "-q", str(source), str(target)],
        check=True,
        capture_output=True,
    )
    return target


def files_with_crlf(root: Path) -> list[str]:
    """Text files holding a CRLF; binary files (with a NUL byte, as git decides) are not text."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and ".git" not in path.relative_to(root).parts
        and b"\r\n" in (data := path.read_bytes())
        and b"\0" not in data
    )


def test_windows_checkout_of_this_repository_keeps_lf(snapshot: Path, tmp_path: Path) -> None:
    clone = windows_clone(snapshot, tmp_path / "clone")
    assert (clone / "hooks" / "post_gen_project.py").exists() and (clone / ".ci" / "run").exists()
    assert files_with_crlf(clone) == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_project_baked_from_a_windows_checkout_keeps_lf_in_its_own_clones(
    snapshot: Path, tmp_path: Path, framework: str
) -> None:
    clone = windows_clone(snapshot, tmp_path / "clone")
    out = tmp_path / "out"
    done = subprocess.run(
        [str(BIN / "cookiecutter"), str(clone), "--directory", f"{framework}-template", "--no-input", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
        env=project_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    project = out / "my_service"
    assert (project / ".gitattributes").read_text().count("eol=lf") == 1
    assert files_with_crlf(project) == []
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "baked"], cwd=project, check=True)
    assert files_with_crlf(windows_clone(project, tmp_path / "project-clone")) == []


@pytest.mark.parametrize("hook", sorted((ROOT / "hooks").glob("*.py")), ids=lambda path: path.name)
def test_hooks_run_no_shell_or_other_program(hook: Path) -> None:
    """The hooks are plain Python: nothing in them needs a POSIX shell on Windows."""
    tree = ast.parse(hook.read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {str(node.module).split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"subprocess", "pty"}, imported
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
        if node.func.value.id == "os"
    }
    assert not called & {"system", "popen", "execv", "execvp", "spawnv", "startfile"}, called
