"""bandit finds nothing in the package of any baked combination, at every
severity and confidence: the low-severity checks are kept on purpose, since one
of them (B101) is the rule that the package never narrows a type or checks a
state with ``assert`` (gone under ``python -O``). The tests are left out: pytest
asserts are how they check."""

from __future__ import annotations

import json
import subprocess
from itertools import product
from typing import Any

import pytest

from tests.baking import BIN, DATABASES, FRAMEWORKS, bake, project_env

COMBINATIONS = [
    pytest.param(framework, database, use_auth, id=f"{framework}-{database}-{'auth' if use_auth else 'noauth'}")
    for framework, database, use_auth in product(FRAMEWORKS, DATABASES, (True, False))
    if not (database == "none" and use_auth)
]


@pytest.mark.parametrize(("framework", "database", "use_auth"), COMBINATIONS)
def test_bandit_finds_nothing_in_the_package(cookies: Any, framework: str, database: str, use_auth: bool) -> None:
    baked = bake(cookies, framework, database=database, use_auth=use_auth)
    done = subprocess.run(
        [str(BIN / "bandit"), "--recursive", "--format", "json", "--quiet", baked.slug],
        cwd=baked.path,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stdout)
    assert report["errors"] == [], f"bandit could not read: {report['errors']}"
    findings = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} ({r['issue_severity']}) {r['issue_text']}"
        for r in report["results"]
    ]
    assert findings == [], "bandit:\n" + "\n".join(findings)
    assert report["metrics"]["_totals"]["loc"] > 0, "bandit scanned no code"
    assert done.returncode == 0, done.stderr
