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
3. prints the next steps from the template's ``__next_steps``: its ``uv`` list
   when ``uv`` is on the PATH, else its ``pip`` list; the step ``create-database``
   becomes the command that creates the database named by ``DATABASE_URL`` in
   ``.env`` (PostgreSQL, MySQL/MariaDB), or goes when there is nothing to create.

Copier runs this file unrendered from the template (``copier.yml``'s ``_tasks``), with
the answers as JSON, Copier's answers file's name and its text as arguments: the
manifest and the steps then come from the template's ``cookiecutter.json``, rendered
with the answers as cookiecutter renders them, and the answers file is written.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# Cookiecutter replaces the placeholder with the answers as JSON. ``tojson``
# writes every ' as \u0027, so no answer can end this string early.
CONTEXT_JSON = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

SECRET_KEY_LINE = "SECRET_KEY="
DATABASE_URL_LINE = "DATABASE_URL="
# The placeholder step that becomes the command creating the development database.
CREATE_DATABASE_STEP = "create-database"


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


def prune(project_dir: Path, paths: Iterable[str], missing_ok: bool = False) -> list[Path]:
    """Remove ``paths`` under ``project_dir``; return what was removed. A path
    that is not there is a manifest bug, unless ``missing_ok`` (a project that
    went through this hook before, whose declined pieces are gone already)."""
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
        elif not missing_ok:
            raise ManifestError(f"the prune manifest names {relative!r}, which the template does not have")
        else:
            continue
        removed.append(target)
        # A folder that held only declined pieces goes with them (deploy/ without kubernetes/).
        parent = target.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            removed.append(parent)
            parent = parent.parent
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


def env_database_url(project_dir: Path) -> str | None:
    """The ``DATABASE_URL`` that ``.env`` sets, if it sets one."""
    env = project_dir / ".env"
    if not env.exists():
        return None
    for line in env.read_text(encoding="utf-8").splitlines():
        if line.startswith(DATABASE_URL_LINE):
            return line[len(DATABASE_URL_LINE) :].strip().strip("\"'") or None
    return None


def create_database_command(url: str | None) -> str | None:
    """The shell command that creates the database ``url`` names on its server:
    ``createdb`` for PostgreSQL, the ``mysql`` client for MySQL/MariaDB; None for
    SQLite (the file is created on first use), no URL, or a URL without a name.
    A password in the URL is never printed: the client asks for it."""
    if not url:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    name = unquote(parts.path.lstrip("/"))
    if not name or "/" in name:
        return None
    if scheme in ("postgresql", "postgres"):
        args = ["createdb"]
        args += ["-h", parts.hostname] if parts.hostname else []
        args += ["-p", str(parts.port)] if parts.port else []
        args += ["-U", unquote(parts.username)] if parts.username else []
        args += ["-W"] if parts.password else []
        return shlex.join([*args, name])
    if scheme in ("mysql", "mariadb"):
        args = ["mysql"]
        args += ["-h", parts.hostname] if parts.hostname else []
        args += ["-P", str(parts.port)] if parts.port else []
        args += ["-u", unquote(parts.username)] if parts.username else []
        args += ["-p"] if parts.password else []
        quoted = "`" + name.replace("`", "``") + "`"
        return shlex.join([*args, "-e", f"CREATE DATABASE {quoted}"])
    return None


def chosen_steps(context: dict[str, Any], uv: bool) -> list[str]:
    """The template's steps for the installer at hand: ``__next_steps`` is either
    one list, or a ``uv`` and a ``pip`` list."""
    steps = context.get("__next_steps", [])
    if isinstance(steps, dict):
        steps = steps.get("uv" if uv else "pip", [])
    return [str(step) for step in steps]


def next_steps(
    context: dict[str, Any],
    project_dir: Path,
    shell_dir: str | None,
    uv: bool = False,
    database_url: str | None = None,
) -> str:
    """The template's ``__next_steps``, after a ``cd`` from where the user ran
    cookiecutter (the shell's ``PWD``) into the project, with the ``create-database``
    step made into the command for ``database_url``."""
    where = os.path.relpath(project_dir, shell_dir) if shell_dir else str(project_dir)
    create = create_database_command(database_url)
    steps = [f"cd {where}"]
    for step in chosen_steps(context, uv):
        if step.strip() == CREATE_DATABASE_STEP:
            steps += [f"{create}   # the database in .env's DATABASE_URL"] if create else []
        elif step.strip():
            steps.append(step)
    lines = [f"Created {context.get('project_name', 'the project')} in {project_dir}", "", "Next steps:"]
    lines += [f"  {step}" for step in steps]
    return "\n".join(lines)


def rendered(value: Any, context: dict[str, Any]) -> Any:
    """``value`` with the Jinja in each of its strings rendered, as cookiecutter renders
    the ``__`` entries of ``cookiecutter.json`` (``{{ cookiecutter.project_slug }}/db``)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    if isinstance(value, str):
        environment = SandboxedEnvironment(keep_trailing_newline=True, undefined=StrictUndefined)
        return environment.from_string(value).render(cookiecutter=context)
    if isinstance(value, list):
        return [rendered(item, context) for item in value]
    if isinstance(value, dict):
        return {key: rendered(item, context) for key, item in value.items()}
    return value


def copier_context(answers: dict[str, Any], template_json: Path) -> dict[str, Any]:
    """Copier's answers with the template's ``__prune`` and ``__next_steps``, rendered."""
    template = json.loads(template_json.read_text(encoding="utf-8"))
    context = dict(answers)
    for key in ("__prune", "__next_steps"):
        context[key] = rendered(template.get(key, {}), answers)
    return context


def main(argv: Sequence[str] = ()) -> int:
    project_dir = Path.cwd()
    if len(argv) > 1:
        # Copier: the answers, then its answers file's name and text (copier.yml's _tasks).
        context = copier_context(json.loads(argv[1]), Path(__file__).resolve().parent.parent / "cookiecutter.json")
        if len(argv) > 3:
            (project_dir / argv[2]).write_text(
                "# Copier's record of this project's answers and template release: do not edit by hand.\n" + argv[3],
                encoding="utf-8",
            )
    else:
        context = json.loads(CONTEXT_JSON)
    try:
        # A project with a .env has been through this hook before (run again in it).
        prune(project_dir, paths_to_prune(context), missing_ok=(project_dir / ".env").exists())
    except ManifestError as error:
        print(f"ERROR: template bug: {error}; please report it.", file=sys.stderr)
        return 1
    write_env(project_dir)
    uv = shutil.which("uv") is not None
    print(next_steps(context, project_dir, os.environ.get("PWD"), uv=uv, database_url=env_database_url(project_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
