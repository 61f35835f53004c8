"""After the bake: the next steps it prints (with the command that creates the
database in .env), reproducing a project from cookiecutter's replay file, and
bringing a project made with cruft up to a newer template with `cruft update`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.baking import (
    BIN,
    FRAMEWORKS,
    ROOT,
    SERVER_URLS,
    connect,
    load_hook,
    project_env,
    require_server,
    require_tool,
    run,
    run_project_tests,
)
from tests.test_entry_points import cookiecutter, snapshot, user_config

__all__ = ["snapshot"]  # the module-scoped fixture: a git repository of the working tree

post = load_hook("post_gen_project")
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]


# --- next steps -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "command"),
    [
        ("postgresql://postgres@localhost:5432/orders", "createdb -h localhost -p 5432 -U postgres orders"),
        ("postgres://app@db.internal/orders", "createdb -h db.internal -U app orders"),
        ("postgresql+asyncpg://app:s3cr3t@10.0.0.5:6543/orders", "createdb -h 10.0.0.5 -p 6543 -U app -W orders"),
        ("mysql://root@localhost:3306/orders", "mysql -h localhost -P 3306 -u root -e 'CREATE DATABASE `orders`'"),
        ("mariadb://app:s3cr3t@db/orders", "mysql -h db -u app -p -e 'CREATE DATABASE `orders`'"),
        ("mysql+pymysql://root@127.0.0.1/odd%20name", "mysql -h 127.0.0.1 -u root -e 'CREATE DATABASE `odd name`'"),
    ],
)
def test_create_database_command_follows_the_url(url: str, command: str) -> None:
    assert post.create_database_command(url) == command
    assert "s3cr3t" not in command, "a password is asked for by the client, never printed"


@pytest.mark.parametrize("url", [None, "", "sqlite:///orders.db", "postgresql://localhost:5432/", "redis://x/0"])
def test_no_create_database_command_where_there_is_nothing_to_create(url: str | None) -> None:
    assert post.create_database_command(url) is None


def test_env_database_url_reads_the_env_file(tmp_path: Path) -> None:
    assert post.env_database_url(tmp_path) is None
    (tmp_path / ".env").write_text("# DATABASE_URL=sqlite:///x.db\nSECRET_KEY=k\n")
    assert post.env_database_url(tmp_path) is None
    (tmp_path / ".env").write_text("SECRET_KEY=k\nDATABASE_URL='postgresql://u@h/db'\n")
    assert post.env_database_url(tmp_path) == "postgresql://u@h/db"


STEPS = {"uv": ["uv sync", "create-database", "uv run migrate"], "pip": ["pip install .", "create-database", "migrate"]}


def test_next_steps_pick_uv_when_it_is_there_and_place_the_database_step(tmp_path: Path) -> None:
    context = {"project_name": "Orders", "__next_steps": STEPS}
    url = "postgresql://postgres@localhost:5432/orders"
    with_uv = post.next_steps(context, tmp_path / "orders", str(tmp_path), uv=True, database_url=url)
    steps = [line.strip() for line in with_uv.splitlines()[3:]]
    assert steps[0] == "cd orders"
    assert steps[1] == "uv sync"
    assert steps[2].startswith("createdb -h localhost -p 5432 -U postgres orders")
    assert steps[3] == "uv run migrate"
    without_uv = post.next_steps(context, tmp_path / "orders", str(tmp_path), uv=False, database_url=None)
    assert [line.strip() for line in without_uv.splitlines()[3:]] == ["cd orders", "pip install .", "migrate"]


def baked_steps(tmp_path: Path, repo: Path, framework: str, path: str, **answers: str) -> tuple[Path, list[str]]:
    """Bake with the shell's PATH set to ``path``; the project and the printed steps."""
    out = tmp_path / "out"
    out.mkdir(parents=True, exist_ok=True)
    command = [str(BIN / "python"), "-m", "cookiecutter", str(repo), "--directory", f"{framework}-template"]
    command += ["--no-input", "--output-dir", str(out), "--config-file", str(user_config(tmp_path))]
    command += [f"{key}={value}" for key, value in answers.items()]
    env = project_env(PWD=str(tmp_path), PATH=path)
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    steps = [line.strip() for line in lines[lines.index("Next steps:") + 1 :]]
    return out / answers.get("project_slug", "my_service"), steps


def path_without_uv(tmp_path: Path) -> str:
    """A PATH holding only what the bake needs, and no uv."""
    bin_dir = tmp_path / "bin-without-uv"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("python", "python3", "git"):
        found = shutil.which(tool, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        assert found
        link = bin_dir / tool
        if not link.exists():
            link.symlink_to(found)
    return str(bin_dir)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_bake_prints_uv_steps_with_uv_and_pip_steps_without(snapshot: Path, tmp_path: Path, framework: str) -> None:
    uv_dir = tmp_path / "bin-with-uv"
    uv_dir.mkdir()
    (uv_dir / "uv").symlink_to(BIN / "uv")
    with_uv = f"{path_without_uv(tmp_path)}{os.pathsep}{uv_dir}"
    _, steps = baked_steps(tmp_path / "a", snapshot, framework, with_uv)
    assert steps[1].startswith("uv lock"), steps
    assert all(step.startswith(("cd ", "uv ")) for step in steps), steps
    assert "uv run pytest" in steps
    assert not [step for step in steps if "createdb" in step or "CREATE DATABASE" in step], "SQLite needs none"
    _, steps = baked_steps(tmp_path / "b", snapshot, framework, path_without_uv(tmp_path))
    assert not [step for step in steps if "uv " in step], steps
    assert "pip install -e '.[dev]'" in steps and "pytest" in steps


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_printed_create_database_step_creates_the_database_in_env(
    snapshot: Path, tmp_path: Path, framework: str, kind: str
) -> None:
    """The printed command, run as printed on the real server, creates exactly the
    database that .env's DATABASE_URL names, right before the migrations step."""
    require_server(kind)
    client = {"postgresql": "createdb", "mysql": "mysql"}[kind]
    require_tool(
        shutil.which(client), f"the {client} client is not installed (Debian: postgresql-client, mariadb-client)"
    )
    slug = f"tpl_{uuid.uuid4().hex[:12]}"
    project, steps = baked_steps(
        tmp_path, snapshot, framework, path_without_uv(tmp_path), database=kind, project_slug=slug
    )
    (create,) = [step for step in steps if step.startswith(("createdb", "mysql"))]
    following = steps[steps.index(create) + 1]
    assert "alembic upgrade head" in following or "db upgrade" in following, steps
    url = post.env_database_url(project)
    assert url and url.endswith(f"/{slug}"), url
    assert create.split("   #")[0] == post.create_database_command(url)
    # Run it as printed when .env's server is this suite's; else the same command for
    # the suite's server (TEMPLATE_TEST_*_URL).
    env_url, server_url = urlsplit(url), urlsplit(SERVER_URLS[kind])
    loopback = {"localhost", "127.0.0.1", "::1"}
    same_server = (
        {env_url.hostname, server_url.hostname} <= loopback
        and env_url.port == (server_url.port or env_url.port)
        and env_url.username == server_url.username
        and not server_url.password
    )
    server = SERVER_URLS[kind].rsplit("/", 1)[0]
    command = create.split("   #")[0] if same_server else str(post.create_database_command(f"{server}/{slug}"))
    try:
        run(["bash", "-c", command], project)
        connect(kind, slug).close()
    finally:
        with connect(kind) as connection, connection.cursor() as cursor:
            force = " WITH (FORCE)" if kind == "postgresql" else ""
            cursor.execute(f"DROP DATABASE IF EXISTS {slug}{force}")


# --- replay -------------------------------------------------------------------


def tree(project: Path) -> dict[str, str]:
    """Every file of a project by its relative path, .env's secret left out."""
    files: dict[str, str] = {}
    for path in sorted(project.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            text = path.read_text(encoding="utf-8")
            if path.name == ".env":
                text = "\n".join(line for line in text.splitlines() if not line.startswith("SECRET_KEY="))
            files[str(path.relative_to(project))] = text
    return files


ANSWERS = ("project_name=Billing API", "database=postgresql", "ci=gitlab", "use_docker=false")


def test_replay_reproduces_a_project(snapshot: Path, tmp_path: Path) -> None:
    """The README's replay commands: `--replay --directory` and `--replay-file`
    make the same project again; the root form without --directory fails."""
    config = user_config(tmp_path)  # replay_dir under tmp_path, never the user's own
    first = cookiecutter(tmp_path / "first", str(snapshot), *ANSWERS, config=config)
    assert first.returncode == 0, first.stderr
    original = tree(tmp_path / "first" / "out" / "billing_api")
    replay_file = tmp_path / "replay" / "fastapi-template.json"
    assert json.loads(replay_file.read_text())["cookiecutter"]["database"] == "postgresql"

    for name, args in {
        "replay": ["--replay", "--directory", "fastapi-template"],
        "replay-file": ["--replay-file", str(replay_file), "--directory", "fastapi-template"],
    }.items():
        out = tmp_path / name
        command = [str(BIN / "cookiecutter"), str(snapshot), *args, "--output-dir", str(out)]
        done = subprocess.run(
            [*command, "--config-file", str(config)],
            capture_output=True,
            text=True,
            check=False,
            env=project_env(),
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        again = tmp_path / name / "billing_api"
        assert tree(again) == original, name
        assert (again / ".env").read_text() != (tmp_path / "first" / "out" / "billing_api" / ".env").read_text()

    root_form = [str(BIN / "cookiecutter"), str(snapshot), "--replay", "--output-dir", str(tmp_path / "root")]
    done = subprocess.run(
        [*root_form, "--config-file", str(config)],
        capture_output=True,
        text=True,
        check=False,
        env=project_env(),
        timeout=120,
    )
    assert done.returncode != 0 and f"{snapshot.name}.json" in done.stderr, "the README's warning is still true"


# --- cruft update -------------------------------------------------------------

# Per framework: answers that prune pieces, and a file pruned by them.
CRUFT_CASES: dict[str, tuple[dict[str, str], str]] = {
    "fastapi": ({"database": "none", "use_auth": "false", "ci": "gitlab"}, ".github/workflows/ci.yml"),
    "flask": ({"use_docker": "false", "ci": "github"}, ".gitlab-ci.yml"),
}
TEMPLATE_CHANGE = "A line the template added after this project was made."


def git(cwd: Path, *args: str) -> str:
    return run([*GIT, *args], cwd)


def cruft(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "cruft"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=project_env(),
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_cruft_update_brings_a_template_change(tmp_path: Path, snapshot: Path, framework: str) -> None:
    answers, pruned = CRUFT_CASES[framework]
    template = tmp_path / "template"
    run(["git", "clone", "-q", str(snapshot), str(template)], tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    done = cruft(
        work,
        "create",
        str(template),
        "--directory",
        f"{framework}-template",
        "--no-input",
        "--extra-context",
        json.dumps(answers),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    project = work / "my_service"
    env_before = (project / ".env").read_text()
    assert "change-me" not in env_before
    assert not (project / pruned).exists()
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Made with cruft")
    assert cruft(project, "check").returncode == 0

    # The template moves on: a line in the generated README, and one in a pruned file.
    template_project = template / f"{framework}-template" / "{{cookiecutter.project_slug}}"
    with (template_project / "README.md").open("a") as readme:
        readme.write(f"\n{TEMPLATE_CHANGE}\n")
    with (template_project / pruned).open("a") as pruned_file:
        pruned_file.write("# a change to a file this project does not have\n")
    git(template, "commit", "-q", "-am", "Template change")
    assert cruft(project, "check").returncode != 0, "cruft check sees the project is behind"

    updated = cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files", "-y")
    output = updated.stdout + updated.stderr
    assert updated.returncode == 0, output
    assert "Failed to apply" not in output and not list(project.rglob("*.rej")), output
    assert (project / "README.md").read_text().rstrip().endswith(TEMPLATE_CHANGE)
    assert (project / ".env").read_text() == env_before, ".env and its SECRET_KEY are the project's own"
    assert not (project / pruned).exists(), "a pruned piece stays pruned"
    state = json.loads((project / ".cruft.json").read_text())
    assert state["commit"] == git(template, "rev-parse", "HEAD").strip()
    changed = {line[3:] for line in git(project, "status", "--porcelain").splitlines()}
    assert changed == {"README.md", ".cruft.json"}, changed
    assert cruft(project, "check").returncode == 0

    run_project_tests(project, python=str(BIN / "python"))


# --- the root README's first commands -------------------------------------------


def root_readme_commands() -> list[str]:
    first_block = (ROOT / "README.md").read_text().split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in first_block.splitlines() if line.strip() and not line.startswith("#")]


def newcomer_path(tmp_path: Path) -> str:
    """python3 as the machine has it (not this suite's virtualenv), git, uv and uvx."""
    tools = tmp_path / "newcomer-bin"
    tools.mkdir()
    for tool in ("uv", "uvx"):
        (tools / tool).symlink_to(BIN / tool)
    outside = [part for part in os.environ.get("PATH", "").split(os.pathsep) if part and Path(part) != BIN]
    return os.pathsep.join([*outside, str(tools)])


@pytest.mark.slow
def test_root_readme_first_commands_are_true(snapshot: Path, tmp_path: Path) -> None:
    """All four lines, in the order written, in one fresh clone: each bake makes the
    default project beside it (the second once the first one's is moved away), and the
    uv and pip test lines share .venv without either refusing the other's; the pip line
    is what CI runs, and the environment they build collects the suite."""
    bakes = [line for line in root_readme_commands() if "cookiecutter . " in line]
    tests = [line for line in root_readme_commands() if line.endswith("pytest -n auto")]
    assert [line.split()[0] for line in bakes] == ["uvx", "python3"], bakes
    assert [line.split()[0] for line in tests] == ["uv", "python3"], tests
    ci_command = (ROOT / ".ci" / "run").read_text().rstrip().splitlines()[-1]
    assert tests[1] == ci_command, "CI runs the README's pip test command as written"
    env = {key: value for key, value in project_env(PATH=newcomer_path(tmp_path)).items() if key != "VIRTUAL_ENV"}
    clone = tmp_path / "clone" / "templates"
    run(["git", "clone", "-q", str(snapshot), str(clone)], tmp_path)
    project = clone.parent / "my_service"
    for number, line in enumerate(bakes):
        run(["bash", "-euo", "pipefail", "-c", line], clone, env, timeout=600)
        assert (project / "my_service" / "main.py").exists(), f"{line!r} did not bake the FastAPI default"
        assert "change-me" not in (project / ".env").read_text()
        project.rename(clone.parent / f"baked-{number}")

    # The pip bake left a .venv made by `python3 -m venv`; the uv line comes next, then the pip one.
    for line in tests:
        install = line.removesuffix(" && .venv/bin/python -m pytest -n auto")
        assert install != line
        run(["bash", "-euo", "pipefail", "-c", install], clone, env, timeout=900)
    collected = run([str(clone / ".venv" / "bin" / "python"), "-m", "pytest", "--collect-only", "-q"], clone, env)
    assert " tests collected" in collected, collected
