"""Template releases as the repository records them: ``VERSION``, and the headings of
``CHANGELOG.md``, each release being the commit that introduced its heading (so a release
is found from the history of any clone or mirror, with or without tags)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

HEADING = re.compile(r"^## (\d{4}\.\d{2}\.\d{2}(?:\.\d+)?)\s*$", re.MULTILINE)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def changelog_releases(text: str) -> list[str]:
    """The releases ``CHANGELOG.md`` lists, newest first (as written)."""
    return HEADING.findall(text)


def release_commit(repo: Path, release: str, until: str = "HEAD") -> str | None:
    """The commit (reachable from ``until``) that introduced ``release``'s heading, if any."""
    pattern = "^## " + re.escape(release) + r"\s*$"
    found = git(repo, "log", "--reverse", "--format=%H", "-G", pattern, until, "--", "CHANGELOG.md").split()
    for commit in found:
        # -G also lists a commit that removed the heading: take the first that has it.
        if release in changelog_releases(git(repo, "show", f"{commit}:CHANGELOG.md")):
            return commit
    return None


def releases_before(repo: Path, commit: str = "HEAD") -> list[tuple[str, str]]:
    """(release, commit) of each release older than ``commit`` (a strict ancestor), newest first."""
    head = git(repo, "rev-parse", commit).strip()
    older = []
    for release in changelog_releases(git(repo, "show", f"{head}:CHANGELOG.md")):
        found = release_commit(repo, release, head)
        if found and found != head:
            older.append((release, found))
    return older


def has_file(repo: Path, commit: str, path: str) -> bool:
    done = subprocess.run(["git", "cat-file", "-e", f"{commit}:{path}"], cwd=repo, capture_output=True, check=False)
    return done.returncode == 0
