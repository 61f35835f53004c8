"""Options live in whole files the prune manifest removes, not in `{% if %}` blocks:
each template's Python stays readable as Python. The density is the number of
`{% if`, `{% elif` and `{% else` tags (also in their `{%-` form) per 100 lines of
the template's .py files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.baking import FRAMEWORKS, template_dir

MAX_TAGS_PER_100_LINES = 2.5
BRANCH_TAG = re.compile(r"\{%-?\s*(?:if|elif|else)\b")


def density(project: Path) -> tuple[int, int]:
    """(branch tags, lines) over every .py file of a template's project folder."""
    tags = lines = 0
    for path in sorted(project.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        tags += len(BRANCH_TAG.findall(text))
        lines += len(text.splitlines())
    return tags, lines


def test_the_pattern_counts_every_form_of_the_tags() -> None:
    text = '{% if a %}\n{%- elif b %}{%else%}\n{%- endif %}{{ "if" }}{% for x in y %}'
    assert len(BRANCH_TAG.findall(text)) == 3


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_few_branches_per_line_of_python(framework: str) -> None:
    tags, lines = density(template_dir(framework) / "{{cookiecutter.project_slug}}")
    per_100 = 100 * tags / lines
    print(f"{framework}: {tags} branch tags in {lines} lines of Python: {per_100:.2f} per 100 lines")
    assert per_100 <= MAX_TAGS_PER_100_LINES, (
        f"{framework}: {per_100:.2f} branch tags per 100 lines of Python (at most "
        f"{MAX_TAGS_PER_100_LINES}): move option variants into files the prune manifest removes"
    )
