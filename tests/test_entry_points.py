"""The hooks run the same whichever way a user reaches a template: the root menu,
--directory, the sub-template's path, a git URL, cruft, and with house defaults."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.baking import BIN, ROOT, project_env


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding the working tree as it is now (committed or not),
    as a user would clone it."""
    repo = tmp_path_factory.mktemp("snapshot") / "templates"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for relative in filter(None, listed.split("\0")):
        if (ROOT / relative).is_file():
            (repo / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, repo / relative)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot"], cwd=repo, check=True)
    return repo


def user_config(tmp_path: Path, **default_context: object) -> Path:
    config = tmp_path / "cookiecutterrc.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cookiecutters_dir": str(tmp_path / "cookiecutters"),
                "replay_dir": str(tmp_path / "replay"),
                "default_context": default_context,
            }
        )
    )
    return config


def cookiecutter(tmp_path: Path, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "out"
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "cookiecutter", *args, "--no-input", "--output-dir", str(out)]
    command += ["--config-file", str(config or user_config(tmp_path))]
    env = project_env(PWD=str(tmp_path))
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, env=env, timeout=120)


def cruft(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "out"
    out.mkdir(parents=True, exist_ok=True)
    command = [str(BIN / "cruft"), "create", *args, "--no-input", "--output-dir", str(out)]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=project_env(), timeout=120)


def assert_hooks_ran(project: Path, framework: str) -> None:
    assert project.is_dir()
    entry = project / "my_service" / ("main.py" if framework == "fastapi" else "wsgi.py")
    assert entry.exists(), f"expected the {framework} project in {project}"
    assert not (project / ".gitlab-ci.yml").exists(), "post-generation hook did not prune"
    secret = [line for line in (project / ".env").read_text().splitlines() if line.startswith("SECRET_KEY=")]
    assert secret and "change-me" not in secret[0], "post-generation hook did not write .env"


ENTRY_POINTS: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "root-menu": ("fastapi", lambda repo: [str(repo)]),
    "directory-fastapi": ("fastapi", lambda repo: [str(repo), "--directory", "fastapi-template"]),
    "directory-flask": ("flask", lambda repo: [str(repo), "--directory", "flask-template"]),
    "sub-template-path": ("flask", lambda repo: [str(repo / "flask-template")]),
    "git-url": ("flask", lambda repo: [f"git+file://{repo}", "--directory", "flask-template"]),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_entry_point_runs_both_hooks(snapshot: Path, tmp_path: Path, entry: str) -> None:
    framework, arguments = ENTRY_POINTS[entry]
    done = cookiecutter(tmp_path, *arguments(snapshot))
    assert done.returncode == 0, done.stderr
    assert_hooks_ran(tmp_path / "out" / "my_service", framework)
    assert "Next steps:\n  cd out/my_service\n" in done.stdout

    refused = cookiecutter(tmp_path / "refused", *arguments(snapshot), "project_slug=json")
    assert refused.returncode != 0
    assert "ERROR: project_slug='json' would shadow the standard library module 'json'" in refused.stderr
    assert list((tmp_path / "refused" / "out").iterdir()) == [], "a refused bake left a directory behind"


@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_cruft_create_runs_both_hooks(snapshot: Path, tmp_path: Path, framework: str) -> None:
    done = cruft(tmp_path, str(snapshot), "--directory", f"{framework}-template")
    assert done.returncode == 0, done.stdout + done.stderr
    assert_hooks_ran(tmp_path / "out" / "my_service", framework)
    assert (tmp_path / "out" / "my_service" / ".cruft.json").exists()

    refused = cruft(
        tmp_path / "refused",
        str(snapshot),
        "--directory",
        f"{framework}-template",
        "--extra-context",
        '{"project_slug": "json"}',
    )
    assert refused.returncode != 0
    assert "project_slug='json'" in refused.stdout + refused.stderr
    assert list((tmp_path / "refused" / "out").iterdir()) == []


def test_house_defaults_from_a_config_file(snapshot: Path, tmp_path: Path) -> None:
    """What the README tells a platform team: default_context in a config file."""
    config = user_config(tmp_path, author_name="Platform Team", database="none", use_auth=False, ci="none")
    done = cookiecutter(tmp_path, str(snapshot), "--directory", "flask-template", config=config)
    assert done.returncode == 0, done.stderr
    project = tmp_path / "out" / "my_service"
    assert "Platform Team" in (project / "pyproject.toml").read_text()
    assert not (project / ".github").exists() and not (project / "migrations").exists()


def test_command_line_answers_beat_house_defaults(snapshot: Path, tmp_path: Path) -> None:
    config = user_config(tmp_path, database="none", use_auth=False)
    done = cookiecutter(tmp_path, str(snapshot), "--directory", "fastapi-template", "database=sqlite", config=config)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "my_service" / "alembic.ini").exists()


def test_baking_again_over_a_project_keeps_its_env(snapshot: Path, tmp_path: Path) -> None:
    """`-f` rewrites the template's files and prunes by the new answers, but the
    user's .env (their secret, their settings) survives, and they are told so."""
    first = cookiecutter(tmp_path, str(snapshot), "--directory", "flask-template")
    assert first.returncode == 0, first.stderr
    project = tmp_path / "out" / "my_service"
    (project / ".env").write_text("SECRET_KEY=mine\n")
    again = cookiecutter(tmp_path, str(snapshot), "--directory", "flask-template", "-f", "ci=gitlab")
    assert again.returncode == 0, again.stderr
    assert (project / ".env").read_text() == "SECRET_KEY=mine\n"
    assert "Kept the existing .env" in again.stdout
    assert (project / ".gitlab-ci.yml").exists() and not (project / ".github").exists()


def readme_zip_commands() -> list[str]:
    """The README's two zip lines ("Choosing a template"): make the zip, bake from it."""
    section = (ROOT / "README.md").read_text().split("## Choosing a template", 1)[1].split("\n## ", 1)[0]
    lines = [
        line.split("   #")[0].strip()
        for block in section.split("```bash\n")[1:]
        for line in block.split("```")[0].splitlines()
    ]
    commands = [line for line in lines if line.startswith("git archive") or ".zip" in line]
    assert [line.split()[0] for line in commands] == ["git", "cookiecutter"], commands
    return commands


def test_readme_zip_bakes_as_written(snapshot: Path, tmp_path: Path) -> None:
    """The README's zip lines, run as written in a fresh clone, bake the Flask default; a
    zip without the top-level folder is refused, as the README warns."""
    clone = tmp_path / "work" / "templates"
    subprocess.run(["git", "clone", "-q", str(snapshot), str(clone)], check=True, timeout=60)
    # cookiecutter's own config (where it unpacks zips, its replay files) kept in tmp_path.
    env = project_env(COOKIECUTTER_CONFIG=str(user_config(tmp_path)))
    make_zip, bake = readme_zip_commands()
    for line in (make_zip, bake):
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", line], cwd=clone, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
    assert_hooks_ran(clone / "my_service", "flask")

    flat = tmp_path / "work" / "flat.zip"
    subprocess.run(["git", "archive", "--format=zip", "-o", str(flat), "HEAD"], cwd=clone, check=True, timeout=60)
    refused = cookiecutter(tmp_path / "flat", str(flat), "--directory", "flask-template")
    assert refused.returncode != 0
    assert "A valid repository for" in refused.stdout + refused.stderr
