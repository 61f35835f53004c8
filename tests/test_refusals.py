"""Invalid answers stop the bake with one clear line and leave no directory."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.exceptions import FailedHookException

from tests.baking import FRAMEWORKS, template_dir

INVALID = {
    "slug-with-space": ({"project_slug": "my service"}, "ERROR: project_slug='my service' is not a valid package name"),
    "slug-keyword": ({"project_slug": "import"}, "ERROR: project_slug='import' is a Python keyword"),
    "slug-json": ({"project_slug": "json"}, "ERROR: project_slug='json' would shadow the standard library module"),
    "slug-dependency": ({"project_slug": "sqlalchemy"}, "ERROR: project_slug='sqlalchemy' would shadow 'sqlalchemy'"),
    "empty-name": ({"project_name": ""}, "ERROR: project_name='' is empty"),
    "bad-email": ({"author_email": "nobody"}, "ERROR: author_email='nobody' is not an email address"),
    "bad-version": ({"version": "first"}, "ERROR: version='first' is not a PEP 440 version"),
    "auth-without-database": (
        {"database": "none", "use_auth": True},
        "ERROR: use_auth=true needs a database to keep users, but database='none': choose database=sqlite",
    ),
}


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("case", INVALID)
def test_invalid_answer_is_refused(
    cookies: Any, capfd: pytest.CaptureFixture[str], tmp_path: Path, framework: str, case: str
) -> None:
    answers, message = INVALID[case]
    result = cookies.bake(template=str(template_dir(framework)), extra_context=answers)
    assert result.exit_code != 0
    assert isinstance(result.exception, FailedHookException)
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1 and errors[0].startswith(message), errors
    # pytest-cookies bakes into <tmp_path>/cookies/bakeNN: nothing may be left in it.
    assert [p for p in (tmp_path / "cookies").rglob("*") if p.parent != tmp_path / "cookies"] == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_refusal_after_the_questions_says_where_the_answers_are_kept(tmp_path: Path, framework: str) -> None:
    """Cookiecutter saves the answers before the hook refuses them: the refusal names that file
    and the command that bakes from it, so that correcting one answer costs no others."""
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "COOKIECUTTER_CONFIG"} | {"HOME": str(home)}
    out = tmp_path / "out"
    answers = ["project_name=Kept Answers", "author_name=Ada", "database=none", "use_auth=yes"]
    template = str(template_dir(framework))
    refused = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(out), template, *answers],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    lines = refused.stderr.splitlines()
    told = [number for number, line in enumerate(lines) if line.startswith("Your answers are kept in ")]
    assert told, refused.stderr
    command = shlex.split(lines[told[0] + 1])
    assert command[:2] == ["cookiecutter", "--replay-file"], command
    replay = Path(command[2])
    saved = json.loads(replay.read_text())
    assert saved["cookiecutter"]["author_name"] == "Ada"
    saved["cookiecutter"]["use_auth"] = False
    replay.write_text(json.dumps(saved))
    baked = subprocess.run(
        [sys.executable, "-m", "cookiecutter", *command[1:]], env=env, capture_output=True, text=True, check=False
    )
    assert baked.returncode == 0, baked.stderr
    assert "Ada" in (out / "kept_answers" / "pyproject.toml").read_text()
