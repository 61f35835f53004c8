"""The interactive bake, typed at a real terminal: a user who chooses database "none" and
accepts every other default gets a project, never a refusal after the last question.

The auth question's default follows the database answer (cookiecutter.json); cookiecutter
renders such a default as text, and the private variable after it turns the answer back
into the JSON boolean that the templates and hooks read."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pexpect
import pytest

from tests.baking import BIN, ROOT, project_env
from tests.test_entry_points import user_config

# Each prompt ends with its default in brackets: "... (My Service): ", "... [y/n] (n): ".
PROMPT_END = r"\): $"
QUESTION = re.compile(r"\[\d+/\d+\] ([^\r\n]*)")

ENTRIES = {
    "fastapi": ("fastapi", [str(ROOT / "fastapi-template")], None),
    "flask": ("flask", [str(ROOT / "flask-template")], None),
    "root-menu-fastapi": ("fastapi", [str(ROOT)], "1"),
    "root-menu-flask": ("flask", [str(ROOT)], "2"),
}


def bake_at_a_terminal(tmp_path: Path, arguments: list[str], menu: str | None, answers: dict[str, str]) -> str:
    """Run cookiecutter in a pseudo-terminal; answer each question whose text starts with a
    key of ``answers``, take the default everywhere else. Returns everything it printed."""
    env = project_env(NO_COLOR="1", TERM="dumb")
    config = user_config(tmp_path)
    command = [*arguments, "--output-dir", str(tmp_path / "out"), "--config-file", str(config)]
    child = pexpect.spawn(
        str(BIN / "cookiecutter"), command, cwd=tmp_path, env=env, encoding="utf-8", timeout=60, dimensions=(50, 200)
    )
    transcript: list[str] = []
    try:
        if menu is not None:
            child.expect(PROMPT_END)
            assert "Select a template" in child.before, child.before
            transcript.append(child.before + child.after)
            child.sendline(menu)
        while child.expect([PROMPT_END, pexpect.EOF]) == 0:
            transcript.append(child.before + child.after)
            question = QUESTION.findall(child.before)[-1]
            child.sendline(next((typed for start, typed in answers.items() if question.startswith(start)), ""))
        transcript.append(child.before)
    finally:
        child.close(force=True)
    printed = "".join(transcript)
    print(printed)
    assert child.exitstatus == 0, f"the interactive bake exited {child.exitstatus}:\n{printed}"
    return printed


def replayed_answers(tmp_path: Path, framework: str) -> dict[str, object]:
    """The answers cookiecutter kept for --replay, as the hooks and templates saw them."""
    (replay,) = (tmp_path / "replay").glob(f"{framework}-template*.json")
    answers: dict[str, object] = json.loads(replay.read_text())["cookiecutter"]
    return answers


@pytest.mark.parametrize("entry", ENTRIES)
def test_database_none_with_every_other_default_bakes_a_project(tmp_path: Path, entry: str) -> None:
    framework, arguments, menu = ENTRIES[entry]
    printed = bake_at_a_terminal(tmp_path, arguments, menu, {"Database": "4"})
    assert "ERROR" not in printed
    project = tmp_path / "out" / "my_service"
    assert (project / "pyproject.toml").exists(), printed
    assert not list(project.rglob("security.py")), "database 'none' baked the auth files"
    answers = replayed_answers(tmp_path, framework)
    assert answers["database"] == "none"
    assert answers["use_auth"] is False


@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_every_default_at_the_terminal_keeps_auth(tmp_path: Path, framework: str) -> None:
    bake_at_a_terminal(tmp_path, [str(ROOT / f"{framework}-template")], None, {})
    assert list((tmp_path / "out" / "my_service").rglob("security.py"))
    assert replayed_answers(tmp_path, framework)["use_auth"] is True


@pytest.mark.parametrize(("typed", "expected"), [("n", False), ("No", False), ("y", True), ("TRUE", True)])
def test_a_typed_auth_answer_becomes_a_boolean(tmp_path: Path, typed: str, expected: bool) -> None:
    bake_at_a_terminal(tmp_path, [str(ROOT / "flask-template")], None, {"Add user registration": typed})
    assert replayed_answers(tmp_path, "flask")["use_auth"] is expected


def test_no_terminal_needed_for_the_same_answers(tmp_path: Path) -> None:
    """--no-input with database=none takes the same default: no auth, a project."""
    out = tmp_path / "out"
    command = [str(BIN / "cookiecutter"), str(ROOT / "fastapi-template"), "--no-input", "database=none"]
    command += ["--output-dir", str(out), "--config-file", str(user_config(tmp_path))]
    done = subprocess.run(command, cwd=tmp_path, env=project_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (out / "my_service" / "pyproject.toml").exists()
    assert replayed_answers(tmp_path, "fastapi")["use_auth"] is False
