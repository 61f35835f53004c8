"""Invalid answers stop the bake with one clear line and leave no directory."""

from __future__ import annotations

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
