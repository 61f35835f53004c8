"""This repository's own code (hooks, tools, tests) is held to the standard it
sets for the projects it generates."""

from __future__ import annotations

import pytest

from tests.baking import ROOT, run


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "--no-cache", "."],
        ["ruff", "format", "--check", "--no-cache", "."],
        ["python", "-m", "mypy"],
        # The repository's own GitHub workflow, with the rules its generated ones pass.
        ["actionlint", "-shellcheck", "shellcheck", ".github/workflows/ci.yml"],
    ],
    ids=["ruff-check", "ruff-format", "mypy", "actionlint"],
)
def test_repository_is_clean(command: list[str]) -> None:
    run(command, ROOT)
