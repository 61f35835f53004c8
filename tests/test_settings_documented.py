"""Every setting a project reads has a row in its README's settings table, the
reference; `.env.example` holds the ones a developer sets first. Neither lists a
setting the project does not read (a typo or a removed setting there is silently
ignored)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.baking import FRAMEWORKS, Baked, bake
from tests.checks import settings_names

# Each option on, and the defaults: what is read differs with the options chosen.
ANSWERS: tuple[dict[str, Any], ...] = (
    {"database": "postgresql", "use_auth": True, "use_worker": True, "use_observability": True},
    {},
    {"database": "none", "use_auth": False},
)
CASES = [
    pytest.param(framework, answers, id=f"{framework}-{'-'.join(map(str, answers.values())) or 'defaults'}")
    for framework in FRAMEWORKS
    for answers in ANSWERS
]
# `NAME=value` or `# NAME=value`: a setting's line, live or commented out.
ENV_LINE = re.compile(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=")
# A table row's first cell names one setting or several (`SMTP_HOST` / `SMTP_PORT`).
NAME_IN_CELL = re.compile(r"`([A-Z][A-Z0-9_]*)`")
# Read from the process environment only (by libraries, or before the settings are), documented
# beside the settings.
LIBRARY_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR", "SECRETS_DIR"}


def settings_table(baked: Baked) -> list[str]:
    """The first cell of every table row in the README's "## Settings" section."""
    text = (baked.path / "README.md").read_text()
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return [line.split("|")[1] for line in section.splitlines() if line.startswith("|")]


@pytest.mark.parametrize(("framework", "answers"), CASES)
def test_every_setting_is_in_the_readme_and_none_is_made_up(
    cookies: Any, framework: str, answers: dict[str, Any]
) -> None:
    baked = bake(cookies, framework, **answers)
    read = settings_names(baked)
    example = {
        m.group(1) for line in (baked.path / ".env.example").read_text().splitlines() if (m := ENV_LINE.match(line))
    }
    readme = {name for cell in settings_table(baked) for name in NAME_IN_CELL.findall(cell)}
    assert example - read - LIBRARY_VARIABLES == set(), ".env.example lists what the project does not read"
    assert read - readme == set(), "settings missing from the README's table"
    assert readme - read - LIBRARY_VARIABLES == set(), "the README's table lists what the project does not read"
