"""Check every answer before cookiecutter writes the project.

This file is the single source of the pre-generation hook: each template's
``hooks/`` holds a byte-identical copy (``python tools/sync_hooks.py`` writes
them, ``tests/test_hooks_sync.py`` fails when they drift).

Cookiecutter renders this file, runs it with the new project directory as the
working directory and deletes that directory when the hook exits non-zero, so
a refused answer leaves nothing behind. Each refusal is one line that names the
option, the value and what to do.
"""

from __future__ import annotations

import json
import keyword
import re
import shlex
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Cookiecutter replaces the placeholder with the answers as JSON. ``tojson``
# writes every ' as \u0027, so no answer can end this string early.
CONTEXT_JSON = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

DATABASES = ("sqlite", "postgresql", "mysql", "none")
CI_CHOICES = ("github", "gitlab", "none")
OLDEST_PYTHON = (3, 11)

# Import names of everything a generated project installs, dependencies of its
# dependencies included (either template), and of the folders it keeps beside
# its package: a package with one of these names would shadow it.
# tests/test_hooks.py fails when an installed import name is missing here.
PROJECT_NAMES = frozenset(
    {
        "aiosmtpd",
        "aiosqlite",
        "alembic",
        "amqp",
        "annotated_doc",
        "annotated_types",
        "anyio",
        "argon2",
        "asgiref",
        "ast_serialize",
        "asyncmy",
        "asyncpg",
        "attr",
        "attrs",
        "billiard",
        "blinker",
        "celery",
        "certifi",
        "cffi",
        "cfgv",
        "charset_normalizer",
        "click",
        "click_didyoumean",
        "click_plugins",
        "click_repl",
        "coverage",
        "dateutil",
        "deprecated",
        "distlib",
        "dns",
        "dotenv",
        "email_validator",
        "fastapi",
        "fastapi_cli",
        "fastapi_offline",
        "filelock",
        "flask",
        "flask_cors",
        "flask_migrate",
        "flask_openapi3",
        "flask_openapi3_swagger",
        "flask_sqlalchemy",
        "google",
        "googleapis_common_protos",
        "granian",
        "greenlet",
        "gunicorn",
        "h11",
        "httpcore",
        "httptools",
        "httpx",
        "identify",
        "idna",
        "importlib_metadata",
        "iniconfig",
        "itsdangerous",
        "jinja2",
        "jwt",
        "kombu",
        "librt",
        "limits",
        "mako",
        "markdown_it",
        "markupsafe",
        "mdurl",
        "migrations",
        "multipart",
        "mypy",
        "mypy_extensions",
        "mypyc",
        "nodeenv",
        "opentelemetry",
        "packaging",
        "pathspec",
        "platformdirs",
        "pluggy",
        "pre_commit",
        "prometheus_client",
        "prompt_toolkit",
        "psycopg",
        "psycopg_binary",
        "public",
        "pwdlib",
        "py",
        "pycparser",
        "pydantic",
        "pydantic_core",
        "pydantic_settings",
        "pygments",
        "pymysql",
        "pytest",
        "pytest_asyncio",
        "pytest_cov",
        "python_discovery",
        "python_multipart",
        "redis",
        "requests",
        "rich",
        "rich_toolkit",
        "ruff",
        "sentry_sdk",
        "shellingham",
        "six",
        "sniffio",
        "sqlalchemy",
        "starlette",
        "tests",
        "typer",
        "typing_extensions",
        "typing_inspection",
        "tzlocal",
        "urllib3",
        "uvicorn",
        "uvloop",
        "vine",
        "virtualenv",
        "watchfiles",
        "wcwidth",
        "websockets",
        "werkzeug",
        "wrapt",
        "yaml",
        "zipp",
    }
)

# sys.stdlib_module_names leaves out CPython's own regression-test package.
STDLIB_NAMES = frozenset(sys.stdlib_module_names) | {"test"}

SLUG_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
# The slug is written into the projects' import lines, which must stay within their
# line length of 100 (and "_test" must fit in a database name: PostgreSQL keeps 63 bytes).
MAX_SLUG_LENGTH = 28
# The name lands in Python lines (the API title) that must stay within the
# projects' line length; wide characters (CJK, emoji) count twice, as in ruff.
MAX_NAME_WIDTH = 40
UNSAFE_TEXT_RE = re.compile(r'["\\\x00-\x1f\x7f]')
# A dot-atom local part, then a domain of letter-or-digit-bounded labels and a
# letters-only top-level label.
EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}\Z"
)
# PEP 440, public and local versions, with the spellings the PEP accepts
# before normalisation (1.0, 1.0.0rc1, 1.0-alpha.2, 2!1.0.post1.dev3, 1.0+local.7).
VERSION_RE = re.compile(
    r"""
    v?
    (?:[0-9]+!)?                                   # epoch
    [0-9]+(?:\.[0-9]+)*                            # release
    (?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?
    (?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?  # post-release
    (?:[-_.]?dev[-_.]?[0-9]*)?                     # development release
    (?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?            # local version
    \Z
    """,
    re.VERBOSE | re.IGNORECASE,
)


def check_text(option: str, value: Any, *, required: bool = False) -> str | None:
    """Free text lands inside TOML and Python strings: one line, no " or \\."""
    if not isinstance(value, str):
        return f"{option}={value!r} is not text: give it as a string."
    if required and not value.strip():
        return f"{option}={value!r} is empty: give the project a name, for example 'Orders Service'."
    if UNSAFE_TEXT_RE.search(value):
        return (
            f"{option}={value!r} holds a double quote, a backslash or a line break, which the generated "
            "files cannot keep as typed: leave them out (use ' for quotes)."
        )
    return None


def display_width(text: str) -> int:
    """Columns ``text`` takes in an editor (and to ruff): wide characters two, combining marks none."""
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text
    )


def check_project_name(value: Any) -> str | None:
    problem = check_text("project_name", value, required=True)
    if problem is None and display_width(value) > MAX_NAME_WIDTH:
        return (
            f"project_name={value!r} is wider than {MAX_NAME_WIDTH} characters: give a shorter name and "
            "put the rest in the description."
        )
    return problem


def check_project_slug(value: Any) -> str | None:
    shown = f"project_slug={value!r}"
    if not isinstance(value, str) or not SLUG_RE.match(value):
        return (
            f"{shown} is not a valid package name: use lowercase letters, digits and "
            "underscores, starting with a letter (for example 'orders_service')."
        )
    if len(value) > MAX_SLUG_LENGTH:
        return (
            f"{shown} is longer than {MAX_SLUG_LENGTH} characters, too long for the generated "
            "code's import lines: pick a shorter name."
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"{shown} is a Python keyword: pick another name, for example '{value}_service'."
    if value in STDLIB_NAMES:
        return (
            f"{shown} would shadow the standard library module '{value}': "
            f"pick another name, for example '{value}_service'."
        )
    if value in PROJECT_NAMES:
        return (
            f"{shown} would shadow '{value}', which the generated project depends on "
            f"or keeps beside its package: pick another name, for example '{value}_service'."
        )
    return None


def check_author_email(value: Any) -> str | None:
    if not isinstance(value, str) or not EMAIL_RE.match(value):
        return f"author_email={value!r} is not an email address: give one like 'you@example.com'."
    return None


def check_version(value: Any) -> str | None:
    if not isinstance(value, str) or not VERSION_RE.match(value):
        return f"version={value!r} is not a PEP 440 version: use one like '0.1.0' or '1.0.0rc1'."
    return None


def check_python_version(value: Any) -> str | None:
    match = re.fullmatch(r"3\.([0-9]+)", value) if isinstance(value, str) else None
    if match is None or (3, int(match.group(1))) < OLDEST_PYTHON:
        oldest = ".".join(map(str, OLDEST_PYTHON))
        return f"python_version={value!r} is not supported: choose {oldest} or newer, written like '3.13'."
    return None


def check_choice(option: str, value: Any, choices: tuple[str, ...]) -> str | None:
    if value not in choices:
        return f"{option}={value!r} is not one of the choices: use one of {', '.join(choices)}."
    return None


def check_boolean(option: str, value: Any) -> str | None:
    if not isinstance(value, bool):
        return f"{option}={value!r} is not a yes/no answer: use true or false (yes/no on the command line)."
    return None


def validate(context: dict[str, Any]) -> list[str]:
    """Return one message per refused answer; an empty list means all is well."""
    errors = [
        check_project_name(context.get("project_name")),
        check_text("description", context.get("description")),
        check_text("author_name", context.get("author_name")),
        check_project_slug(context.get("project_slug")),
        check_author_email(context.get("author_email")),
        check_version(context.get("version")),
        check_python_version(context.get("python_version")),
        check_choice("database", context.get("database"), DATABASES),
        check_choice("ci", context.get("ci"), CI_CHOICES),
        check_boolean("use_auth", context.get("use_auth")),
        check_boolean("use_docker", context.get("use_docker")),
        check_boolean("use_worker", context.get("use_worker", False)),
        check_boolean("use_observability", context.get("use_observability", False)),
        check_boolean("use_kubernetes", context.get("use_kubernetes", False)),
    ]
    if context.get("use_auth") is True and context.get("database") == "none":
        errors.append(
            "use_auth=true needs a database to keep users, but database='none': "
            "choose database=sqlite, postgresql or mysql, or set use_auth=false."
        )
    if context.get("use_worker") is True and context.get("use_auth") is not True:
        errors.append(
            "use_worker=true needs use_auth=true: the worker's example job is the welcome email "
            "sent after a user registers; set use_auth=true (with a database) or use_worker=false."
        )
    if context.get("use_kubernetes") is True and context.get("use_docker") is not True:
        errors.append(
            "use_kubernetes=true needs use_docker=true: the manifests run the project's image; "
            "set use_docker=true or use_kubernetes=false."
        )
    if context.get("use_kubernetes") is True and context.get("database") == "sqlite":
        errors.append(
            "use_kubernetes=true cannot run database='sqlite': replicas on several nodes cannot "
            "share one SQLite file; choose database=postgresql, mysql or none, or set use_kubernetes=false."
        )
    return [error for error in errors if error]


def saved_answers(context: dict[str, Any]) -> Path | None:
    """The replay file cookiecutter wrote with these answers before running this hook, if it
    is where the user's configuration puts it (a ``--config-file`` given on the command line
    is not visible here)."""
    try:
        from cookiecutter.config import get_user_config
    except ImportError:
        return None
    try:
        replay_dir = Path(get_user_config()["replay_dir"])
    except Exception:
        return None
    replay = replay_dir / f"{Path(str(context.get('_repo_dir', ''))).name}.json"
    try:
        saved = json.loads(replay.read_text(encoding="utf-8"))["cookiecutter"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    same = all(saved.get(key) == context.get(key) for key in ("project_slug", "_output_dir", "_template"))
    return replay if same else None


def main(argv: Sequence[str] = ()) -> int:
    # Copier runs this file unrendered (copier.yml's _tasks) with the answers as JSON.
    context = json.loads(argv[1] if len(argv) > 1 else CONTEXT_JSON)
    errors = validate(context)
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    replay = saved_answers(context) if errors else None
    if replay:
        print(
            f"Your answers are kept in {replay}: change the answer named above there, then run\n"
            f"  cookiecutter --replay-file {shlex.quote(str(replay))} "
            f"--output-dir {shlex.quote(str(context['_output_dir']))} {shlex.quote(str(context['_template']))}",
            file=sys.stderr,
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
