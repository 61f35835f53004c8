"""The contract goes with the project: each bake carries docs/api.md, rendered from
docs/contract.md (tools/sync_contract.py) for its own framework and options, and the
project's comments cite it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.baking import FRAMEWORKS, ROOT, bake
from tests.checks import dangling_references

OTHER = {"fastapi": "Flask project", "flask": "FastAPI project"}


def test_each_template_carries_the_contract_as_rendered_by_the_sync_tool() -> None:
    completed = subprocess.run(
        [sys.executable, "tools/sync_contract.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def sections(api: Path) -> list[str]:
    return re.findall(r"(?m)^##+ .*$", api.read_text())


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_project_gets_the_sections_of_its_options(cookies: Any, framework: str) -> None:
    full = bake(cookies, framework, database="postgresql", use_auth=True)
    bare = bake(cookies, framework, database="none", use_auth=False)
    source = re.findall(r"(?m)^##+ .*$", (ROOT / "docs" / "contract.md").read_text())
    assert sections(full.path / "docs" / "api.md") == source
    assert sections(bare.path / "docs" / "api.md") == [
        heading for heading in source if heading.startswith("## ") and not heading.startswith("## When")
    ]
    for baked in (full, bare):
        text = (baked.path / "docs" / "api.md").read_text()
        assert OTHER[framework] not in text
        assert f"`{baked.slug}/` at the project root" in text
    assert "alembic upgrade head" in (full.path / "docs" / "api.md").read_text() or framework == "flask"


def test_a_comment_citing_a_missing_document_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "api.md").write_text("# API\n")
    (tmp_path / "app.py").write_text(
        '# docs/api.md, "Errors": fine\n# see docs/design.md\n# as the contract says\nCONTRACT_PATHS = 1\n'
    )
    assert dangling_references(tmp_path) == ["app.py:2: # see docs/design.md", "app.py:3: # as the contract says"]
