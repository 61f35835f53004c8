"""What every baked project is checked for, as plain functions the tests call."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from jinja2 import Environment, StrictUndefined

from tests.baking import Baked, load_hook, project_env, run, template_context

# The manifest spells answers as the post-generation hook reads them.
answer_key = load_hook("post_gen_project").answer_key

# Jinja left behind: "{{" (but not GitHub Actions' "${{"), "{%", "{#", or the
# word cookiecutter itself.
UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|\{#|cookiecutter", re.IGNORECASE)
SKIPPED_DIRS = {".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__", ".venv"}

# Words that may appear only when their option is chosen: a declined option
# must leave no file, import, dependency, setting or README line behind. A word
# matches where a word starts ("postgres" in "postgresql", not "password" in a
# database image's "MARIADB_ROOT_PASSWORD").
TRACES: dict[tuple[str, str], tuple[str, ...]] = {
    ("use_auth", "false"): (
        "jwt",
        "pwdlib",
        "argon2",
        "password",
        "token",
        "access_token",
        "users/me",
        "ACCESS_TOKEN_EXPIRE",
    ),
    ("database", "none"): (
        "sqlalchemy",
        "alembic",
        "migrat",
        "DATABASE_URL",
        "/items",
        "sqlite",
        "aiosqlite",
        "postgres",
        "mysql",
    ),
    ("database", "sqlite"): ("postgres", "psycopg", "asyncpg", "mysql", "pymysql", "mariadb", "asyncmy"),
    ("database", "postgresql"): ("sqlite", "aiosqlite", "mysql", "pymysql", "mariadb", "asyncmy"),
    ("database", "mysql"): ("sqlite", "aiosqlite", "postgres", "psycopg", "asyncpg"),
    ("use_docker", "false"): ("docker", "compose.yaml"),
    ("use_worker", "false"): ("celery", "outbox", "smtp", "BROKER_URL", "MAIL_FROM", "welcome"),
    ("use_observability", "false"): (
        "prometheus",
        "opentelemetry",
        "OTEL_",
        "sentry",
        "METRICS_PORT",
        "request_id",
        "X-Request-ID",
    ),
    ("use_kubernetes", "false"): ("kubernetes", "kubectl", "k8s"),
    ("ci", "none"): ("github", "gitlab"),
    ("ci", "github"): ("gitlab",),
    ("ci", "gitlab"): ("github",),
}


def text_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not SKIPPED_DIRS.intersection(path.relative_to(root).parts):
            try:
                path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            yield path


DOCUMENT = re.compile(r"(?<![\w/.-])docs/[\w./-]+\.md")
CONTRACT = re.compile(r"(?<![\w])contract(?:'s)?(?![\w])", re.IGNORECASE)


def dangling_references(root: Path) -> list[str]:
    """Every ``file:line: text`` that points at a document the project does not contain: a
    ``docs/*.md`` path that is not there, or "the contract" without the file that holds it
    (the project's own ``docs/api.md``)."""
    found = []
    for path in text_files(root):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            missing = [ref for ref in DOCUMENT.findall(line) if not (root / ref).is_file()]
            if missing or (CONTRACT.search(line) and "docs/api.md" not in line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def unrendered(root: Path) -> list[str]:
    """Every ``file:line: text`` that still holds template syntax."""
    found = []
    for path in text_files(root):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if UNRENDERED.search(line) or UNRENDERED.search(str(path.relative_to(root))):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def manifest_paths(baked: Baked) -> tuple[set[str], set[str]]:
    """(paths that must be gone, paths that must be there) by the template's
    ``__prune`` manifest and the answers the project was baked with."""
    env = Environment(undefined=StrictUndefined)
    manifest: dict[str, dict[str, list[str]]] = template_context(baked.framework)["__prune"]
    gone: set[str] = set()
    listed: set[str] = set()
    for option, by_answer in manifest.items():
        for answer, paths in by_answer.items():
            rendered = {env.from_string(path).render(cookiecutter=baked.context) for path in paths}
            listed |= rendered
            if answer == answer_key(baked.context[option]):
                gone |= rendered
    kept = {path for path in listed - gone if not any(path.startswith(f"{g}/") for g in gone)}
    return gone, kept


def traces(baked: Baked) -> list[str]:
    """Every ``file:line: word`` that speaks of an option the project declined."""
    words: list[str] = []
    for (option, answer), option_words in TRACES.items():
        if answer_key(baked.context[option]) == answer:
            words += option_words
    if not words:
        return []
    pattern = re.compile("(?<![a-z0-9_])(?:" + "|".join(map(re.escape, words)) + ")", re.IGNORECASE)
    found = []
    for path in text_files(baked.path):
        relative = str(path.relative_to(baked.path))
        if pattern.search(relative):
            found.append(f"{relative}: its name")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = pattern.search(line)
            if match:
                found.append(f"{relative}:{number}: {match.group(0)!r} in {line.strip()}")
    return found


# Where each template's settings class lives in a baked project.
SETTINGS_MODULE = {"fastapi": "{slug}.core.config", "flask": "{slug}.config"}


def settings_names(baked: Baked) -> set[str]:
    """The environment names a baked project's settings class reads, from its own code."""
    module = SETTINGS_MODULE[baked.framework].format(slug=baked.slug)
    script = f"import json; from {module} import Settings; print(json.dumps(list(Settings.model_fields)))"
    output = run([sys.executable, "-c", script], baked.path, project_env())
    return {name.upper() for name in json.loads(output.strip().splitlines()[-1])}
