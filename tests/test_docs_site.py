"""The documentation site (mkdocs.yml, docs/) builds strictly: no broken link or anchor,
every page reachable from the navigation; and the README, the front page, stays short and
its links resolve."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.baking import ROOT

README_LIMIT = 15_000  # bytes: a few screens


def build(project: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    built = build(ROOT, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    for page in (ROOT / "docs").glob("*.md"):
        assert (tmp_path / "site" / ("" if page.stem == "index" else page.stem) / "index.html").is_file(), page


def test_a_broken_link_or_an_unlisted_page_fails_the_build(tmp_path: Path) -> None:
    for broken in ("[gone](missing.md)\n", None):
        copy = tmp_path / ("link" if broken else "unlisted")
        shutil.copytree(ROOT / "docs", copy / "docs")
        shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
        if broken:
            with (copy / "docs" / "layout.md").open("a") as page:
                page.write(broken)
        else:
            (copy / "docs" / "orphan.md").write_text("# Nobody links here\n")
        built = build(copy, copy / "site")
        assert built.returncode != 0, built.stderr


def test_the_readme_is_short_and_its_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    print(f"README.md: {len(readme.encode())} bytes")
    assert len(readme.encode()) <= README_LIMIT, "move detail into a page under docs/"
    for target in re.findall(r"\]\(([^)#]+?)(?:#[^)]*)?\)", readme):
        if not re.match(r"[a-z]+:", target):
            assert (ROOT / target).exists(), f"the README links to {target}, which is not there"
