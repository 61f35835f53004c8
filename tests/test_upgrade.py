"""A project made from the previous template release, with its owner's own change, taken up to
the current commit by both update paths (``cruft update`` and ``copier update``).

The previous release is the newest one older than the current commit, found from the history of
``CHANGELOG.md`` (tests/releases.py), never from a tag; Copier starts from the first release that
has ``copier.yml``. When that leaves no template change to take, a scratch copy of the repository
gets one: a line in the generated README, a changed setting in ``.env.example`` and a data
migration. For each framework's default project and a PostgreSQL + auth + worker project the test
bakes the old release with both tools, commits, adds the owner's change (a route and a setting),
commits, updates, and checks: no conflict and no rejected hunk, the owner's lines kept, the tree
otherwise the same as a fresh bake of the new commit (so what was declined stays pruned), ``.env``
and its secret kept, a database made by the old release migrated without losing a row, and the
project's own tests passing (once: both updates must give the same files).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.baking import BIN, ROOT, connect, project_env, require_server, run, run_project_tests
from tests.releases import git, has_file, releases_before

pytestmark = pytest.mark.slow

TEMPLATES = ("fastapi-template", "flask-template")
SLUG = "my_service"
TEMPLATE_README_LINE = "Upgrade check: a line the template added in its newer release."
OWNER_SETTING = ("LOG_FORMAT=text", "LOG_FORMAT=json")  # the owner's change to .env.example
TEMPLATE_SETTING = ("BODY_TIMEOUT=30", "BODY_TIMEOUT=45")  # the template's change to .env.example
ROWS = 3
PROJECTS: list[tuple[str, dict[str, str]]] = [
    ("fastapi", {}),
    ("flask", {}),
    ("fastapi", {"database": "postgresql", "use_auth": "true", "use_worker": "true"}),
]

DATA_MIGRATION = '''"""Upgrade check: empty item descriptions become NULL (a data migration).

Revision ID: 0003
Revises: {down}
"""

from alembic import op

revision = "0003"
down_revision = {down_jinja}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE items SET description = NULL WHERE description = ''")


def downgrade() -> None:
    pass
'''


@dataclass
class Releases:
    repo: Path  # a scratch clone of this repository, the working tree committed on top
    cruft_from: str  # the commit each tool bakes first
    copier_from: str
    target: str  # the commit both update to
    synthetic: bool  # whether the target is the scratch template change


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    if git(repo, "status", "--porcelain").strip():
        git(repo, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def template_change(repo: Path) -> None:
    """A change a release could make: a generated file, a setting and a migration."""
    for template in TEMPLATES:
        project = repo / template / "{{cookiecutter.project_slug}}"
        with (project / "README.md").open("a") as readme:
            readme.write(f"\n{TEMPLATE_README_LINE}\n")
        example = project / ".env.example"
        text = example.read_text()
        assert TEMPLATE_SETTING[0] in text
        example.write_text(text.replace(TEMPLATE_SETTING[0], TEMPLATE_SETTING[1]))
        down = "{{ '\"0002\"' if cookiecutter.use_worker else '\"0001\"' }}"
        migration = DATA_MIGRATION.format(down="0001 or 0002", down_jinja=down)
        (project / "migrations" / "versions" / "0003_upgrade_check.py").write_text(migration)


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    repo = tmp_path_factory.mktemp("upgrade") / "templates"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(repo)], check=True)
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if source.is_file():
            (repo / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / relative)
        elif (repo / relative).exists():
            (repo / relative).unlink()
    current = commit_all(repo, "The working tree")
    older = releases_before(repo, current)
    assert older, "CHANGELOG.md's history holds no release older than the current commit"
    cruft_from = older[0][1]
    with_copier = [commit for _, commit in older if has_file(repo, commit, "copier.yml")]
    copier_from = with_copier[0] if with_copier else current  # the first release with copier.yml
    print(f"cruft from {older[0][0]} ({cruft_from[:12]}), copier from {copier_from[:12]}, current {current[:12]}")
    unchanged = not git(repo, "diff", "--name-only", cruft_from, current, "--", *TEMPLATES).strip()
    synthetic = unchanged or copier_from == current
    target = current
    if synthetic:
        template_change(repo)
        target = commit_all(repo, "A template change to take")
        print(f"no template change to take since a release: the scratch change {target[:12]} is the target")
    return Releases(repo, cruft_from, copier_from, target, synthetic)


def tool(cwd: Path, *args: str, timeout: float = 600) -> tuple[str, float]:
    """Run cruft or copier; fail with its output; return the output and the seconds taken."""
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    took = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{output}"
    return output, took


def tracked(project: Path) -> dict[str, bytes]:
    return {name: (project / name).read_bytes() for name in git(project, "ls-files", "-z").split("\0") if name}


OWNER_FILES = {
    # framework: (the owner's new route module, its text, the file that registers it, after which line, the lines)
    "fastapi": (
        f"{SLUG}/api/routes/hello.py",
        'from fastapi import APIRouter\n\nrouter = APIRouter(tags=["hello"])\n\n\n@router.get("/hello")\n'
        'async def hello() -> dict[str, str]:\n    return {"hello": "world"}\n',
        f"{SLUG}/api/router.py",
        "api_router.include_router(items.router)",
        f"from {SLUG}.api.routes import hello  # noqa: E402\n\napi_router.include_router(hello.router)",
    ),
    "flask": (
        # A plain blueprint, not in the OpenAPI document (whose paths the project's tests hold to the contract).
        f"{SLUG}/hello.py",
        'from flask import Blueprint\n\nbp = Blueprint("hello", __name__)\n\n\n@bp.get("/hello")\n'
        'def hello() -> dict[str, str]:\n    return {"hello": "world"}\n',
        f"{SLUG}/__init__.py",
        "    app.register_api(items.bp)",
        "    from .hello import bp as hello_bp\n\n    app.register_blueprint(hello_bp)",
    ),
}


def owner_change(project: Path, framework: str) -> list[str]:
    """The owner's own commit: a route (a module of its own, registered beside the items
    routes), and a changed setting. Returns the lines the owner wrote."""
    module, text, registry, after, registration = OWNER_FILES[framework]
    (project / module).write_text(text)
    lines = (project / registry).read_text().split("\n")
    assert after in lines, f"{registry} has no line {after!r}"
    index = lines.index(after) + 1
    (project / registry).write_text("\n".join([*lines[:index], registration, *lines[index:]]))
    example = project / ".env.example"
    assert OWNER_SETTING[0] in example.read_text()
    example.write_text(example.read_text().replace(*OWNER_SETTING))
    git(project, "add", "-A")
    git(project, "-c", "user.name=owner", "-c", "user.email=o@example.com", "commit", "-q", "-m", "Our route")
    return [*text.splitlines(), *registration.splitlines(), OWNER_SETTING[1]]


def migrate(project: Path, framework: str, url: str) -> None:
    env = project_env(DATABASE_URL=url)
    if framework == "fastapi":
        run([str(BIN / "alembic"), "upgrade", "head"], project, env)
    else:
        run([str(BIN / "flask"), "--app", SLUG, "db", "upgrade"], project, env)


@dataclass
class Database:
    url: str
    kind: str
    path: Path | None = None
    name: str | None = None

    def execute(self, statements: list[str]) -> list[Any]:
        if self.path is not None:
            with sqlite3.connect(self.path) as connection:
                results = [connection.execute(statement).fetchall() for statement in statements]
            connection.close()
            return results
        with connect(self.kind, self.name) as connection, connection.cursor() as cursor:
            results = []
            for statement in statements:
                cursor.execute(statement)
                results.append(cursor.fetchall() if cursor.description else [])
            connection.commit()
            return results


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[Any]:
    made: list[str] = []

    def make(database: str, label: str) -> Database:
        if database == "sqlite":
            path = tmp_path / f"{label}.db"
            return Database(f"sqlite:///{path}", "sqlite", path=path)
        require_server("postgresql")
        name = f"tpl_{uuid.uuid4().hex[:12]}"
        with connect("postgresql") as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        made.append(name)
        return Database(f"postgresql://postgres@127.0.0.1:5432/{name}", "postgresql", name=name)

    yield make
    for name in made:
        with connect("postgresql") as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fill(database: Database) -> None:
    """Rows the old release's schema holds: users, and items owned by them (one description empty)."""
    now = "'2026-01-01 00:00:00'"
    statements = []
    for row in range(ROWS):
        statements.append(
            f"INSERT INTO users (email, hashed_password, created_at) VALUES ('u{row}@example.com', 'x', {now})"
        )
        statements.append(
            "INSERT INTO items (name, description, created_at, updated_at, owner_id) "
            f"VALUES ('item {row}', '{'' if row == 0 else 'kept'}', {now}, {now}, "
            f"(SELECT id FROM users WHERE email = 'u{row}@example.com'))"
        )
    database.execute(statements)


def counts(database: Database) -> tuple[int, int, str]:
    users, items, version = database.execute(
        ["SELECT COUNT(*) FROM users", "SELECT COUNT(*) FROM items", "SELECT version_num FROM alembic_version"]
    )
    return users[0][0], items[0][0], version[0][0]


@pytest.mark.parametrize(("framework", "answers"), PROJECTS, ids=lambda value: str(value))
def test_update_from_the_previous_release(
    releases: Releases, tmp_path: Path, databases: Any, framework: str, answers: dict[str, str]
) -> None:
    repo, directory = releases.repo, f"{framework}-template"
    database_kind = answers.get("database", "sqlite")
    context = json.dumps(answers)

    # The old release, baked by each tool, committed, with the owner's change committed on top.
    projects: dict[str, Path] = {}
    cruft_work = tmp_path / "cruft"
    cruft_work.mkdir()
    tool(cruft_work, "cruft", "create", str(repo), "--checkout", releases.cruft_from, "--directory", directory,
         "--no-input", "--extra-context", context)  # fmt: skip
    projects["cruft"] = cruft_work / SLUG
    projects["copier"] = tmp_path / "copier" / SLUG
    data = [f"--data={name}={value}" for name, value in {"framework": framework, **answers}.items()]
    tool(tmp_path, "copier", "copy", "--trust", "--defaults", f"--vcs-ref={releases.copier_from}", *data,
         str(repo), str(projects["copier"]))  # fmt: skip
    envs, owner_lines, old_databases = {}, [], {}
    for name, project in projects.items():
        git(project, "init", "-q", "-b", "main")
        git(project, "add", "-A")
        git(project, "-c", "user.name=owner", "-c", "user.email=o@example.com", "commit", "-q", "-m", "Made")
        envs[name] = (project / ".env").read_text()
        assert "SECRET_KEY=change-me" not in envs[name]
        owner_lines = owner_change(project, framework)
        database = databases(database_kind, name)
        migrate(project, framework, database.url)
        fill(database)
        old_databases[name] = database

    # Both update to the target commit.
    tookk: dict[str, float] = {}
    _, tookk["cruft"] = tool(
        projects["cruft"], "cruft", "update", "--checkout", releases.target, "--skip-apply-ask",
        "--allow-untracked-files", "-y",
    )  # fmt: skip
    _, tookk["copier"] = tool(
        projects["copier"], "copier", "update", "--trust", "--defaults", "--skip-answered",
        f"--vcs-ref={releases.target}",
    )  # fmt: skip
    print(f"{framework} {answers}: cruft update {tookk['cruft']:.1f} s, copier update {tookk['copier']:.1f} s")

    # A fresh bake of the target: what each updated project must hold, besides the owner's lines.
    fresh_out = tmp_path / "fresh"
    run([str(BIN / "cookiecutter"), str(repo), "--checkout", releases.target, "--no-input", "--directory",
         directory, "-o", str(fresh_out), *[f"{k}={v}" for k, v in answers.items()]], tmp_path)  # fmt: skip
    fresh_project = fresh_out / SLUG
    fresh = {
        str(path.relative_to(fresh_project)): path.read_bytes()
        for path in fresh_project.rglob("*")
        if path.is_file() and path.name != ".env"
    }
    owned = {"cruft": ".cruft.json", "copier": ".copier-answers.yml"}
    trees = {}
    for name, project in projects.items():
        status = git(project, "status", "--porcelain", "--untracked-files=all")
        assert not [line for line in status.splitlines() if line.endswith(".rej")], status
        git(project, "add", "-A")
        git(project, "-c", "user.name=owner", "-c", "user.email=o@example.com", "commit", "-q", "-m", "Update")
        files = tracked(project)
        conflicted = [path for path, data in files.items() if b"<<<<<<< " in data or b">>>>>>> " in data]
        assert conflicted == [], f"{name}: conflict markers in {conflicted}"
        assert (project / ".env").read_text() == envs[name], f"{name}: .env and its secret are the project's own"
        assert (project / ".template-release").read_text() == fresh[".template-release"].decode()
        text = b"\n".join(files.values()).decode()
        assert all(line in text for line in owner_lines), f"{name}: the owner's lines are kept"
        ours = {path: data for path, data in files.items() if path not in (owned[name], OWNER_FILES[framework][0])}
        assert sorted(ours) == sorted(fresh), f"{name}: {set(ours) ^ set(fresh)} (pruned pieces stay pruned)"
        differ = [path for path in fresh if ours[path] != fresh[path]]
        expected = {OWNER_FILES[framework][2], ".env.example"}
        assert set(differ) == expected, f"{name}: only the owner's files differ from a fresh bake: {differ}"
        trees[name] = ours
        if releases.synthetic:
            assert TEMPLATE_README_LINE in files["README.md"].decode()
            assert TEMPLATE_SETTING[1] in files[".env.example"].decode()

        # The new release's migrations on the old release's database: every row kept.
        database = old_databases[name]
        before = counts(database)
        migrate(project, framework, database.url)
        after = counts(database)
        head = "0003" if releases.synthetic else after[2]
        assert after[:2] == before[:2] == (ROWS, ROWS), f"{name}: rows before {before}, after {after}"
        assert after[2] == head
    assert trees["cruft"] == trees["copier"], "both update paths give the same project"

    env = project_env()
    if database_kind == "postgresql":
        # A test database of its own, as tests/test_bake.py gives each bake.
        env["TEST_DATABASE_URL"] = databases(database_kind, "tests").url
    run_project_tests(projects["cruft"], env=env, python=str(BIN / "python"))
