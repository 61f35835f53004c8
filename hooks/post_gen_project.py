"""Finish a freshly generated project.

This file is the single source of the post-generation hook: each template's
``hooks/`` holds a byte-identical copy (``python tools/sync_hooks.py`` writes
them, ``tests/test_hooks_sync.py`` fails when they drift).

It runs with the generated project as the working directory and

1. removes every file and folder of each option the user declined, as listed
   in the template's ``__prune`` manifest (``cookiecutter.json``): option ->
   answer -> paths to remove when the option has that answer;
2. writes ``.env`` from ``.env.example`` with a fresh random ``SECRET_KEY``
   (``.env`` is git-ignored, ``.env.example`` is committed);
3. prints the next steps from the template's ``__next_steps``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Cookiecutter replaces the placeholder with the answers as JSON. ``tojson``
# writes every ' as \u0027, so no answer can end this string early.
CONTEXT_JSON = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

SECRET_KEY_LINE = "SECRET_KEY="


class ManifestError(Exception):
    """The template's prune manifest does not match its files (a template bug)."""


def answer_key(value: Any) -> str:
    """The manifest's spelling of an answer: JSON for booleans, else the text."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def paths_to_prune(context: dict[str, Any]) -> list[str]:
    """Relative paths of every declined piece, parents before children."""
    manifest: dict[str, dict[str, list[str]]] = context.get("__prune", {})
    paths: set[str] = set()
    for option, by_answer in manifest.items():
        if option not in context:
            raise ManifestError(f"the prune manifest names option {option!r}, which the template does not ask")
        paths.update(by_answer.get(answer_key(context[option]), []))
    return sorted(paths)


def prune(project_dir: Path, paths: Iterable[str]) -> list[Path]:
    """Remove ``paths`` under ``project_dir``; return what was removed."""
    root = project_dir.resolve()
    removed: list[Path] = []
    for relative in paths:
        target = (root / relative).resolve()
        if target == root or root not in target.parents:
            raise ManifestError(f"the prune manifest path {relative!r} is outside the project")
        if any(parent in removed for parent in target.parents):
            continue
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        else:
            raise ManifestError(f"the prune manifest names {relative!r}, which the template does not have")
        removed.append(target)
    return removed


def write_env(project_dir: Path, secret_key: str | None = None) -> Path | None:
    """Write ``.env`` from ``.env.example``, its ``SECRET_KEY=`` placeholder replaced
    by a fresh random secret. An existing ``.env`` (a bake over a project with
    ``-f``) is kept as it is, and the user is told to compare it."""
    example = project_dir / ".env.example"
    env = project_dir / ".env"
    if not example.exists():
        return None
    if env.exists():
        print("Kept the existing .env: compare it with .env.example, which may have changed.")
        return None
    secret = secret_key or secrets.token_urlsafe(48)
    lines = example.read_text(encoding="utf-8").splitlines()
    lines = [f"{SECRET_KEY_LINE}{secret}" if line.startswith(SECRET_KEY_LINE) else line for line in lines]
    env.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env.chmod(0o600)
    return env


def next_steps(context: dict[str, Any], project_dir: Path, shell_dir: str | None) -> str:
    """The template's ``__next_steps``, after a ``cd`` from where the user ran
    cookiecutter (the shell's ``PWD``) into the project."""
    where = os.path.relpath(project_dir, shell_dir) if shell_dir else str(project_dir)
    steps = [f"cd {where}"] + [step for step in context.get("__next_steps", []) if step.strip()]
    lines = [f"Created {context.get('project_name', 'the project')} in {project_dir}", "", "Next steps:"]
    lines += [f"  {step}" for step in steps]
    return "\n".join(lines)


def main() -> int:
    context = json.loads(CONTEXT_JSON)
    project_dir = Path.cwd()
    try:
        prune(project_dir, paths_to_prune(context))
    except ManifestError as error:
        print(f"ERROR: template bug: {error}; please report it.", file=sys.stderr)
        return 1
    write_env(project_dir)
    print(next_steps(context, project_dir, os.environ.get("PWD")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
