"""Copier from the same template files as cookiecutter (``copier.yml`` at the root), and the
template release every baked project records (``.template-release``, ``VERSION``,
``CHANGELOG.md``)."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.baking import BIN, FRAMEWORKS, ROOT, load_hook, template_context
from tests.releases import changelog_releases, git, release_commit
from tests.test_entry_points import snapshot

__all__ = ["snapshot"]  # the module-scoped fixture: a git repository of the working tree

COPIER_ONLY = {"framework", "cookiecutter"}  # the template choice, and the computed answer the templates read
ANSWERS_FILE = ".copier-answers.yml"

# Answer sets baked by both tools: each framework's defaults, PostgreSQL + auth + worker,
# and every option at once.
ANSWER_SETS: list[tuple[str, dict[str, str]]] = [
    ("fastapi", {}),
    ("flask", {}),
    ("fastapi", {"database": "postgresql", "use_auth": "true", "use_worker": "true"}),
    ("flask", {"database": "postgresql", "use_auth": "true", "use_worker": "true"}),
    (
        "flask",
        {
            # Copier's default slug keeps ASCII letters only (cookiecutter's would be ledger_d_ete).
            "project_name": "Ledger d'Été",
            "project_slug": "ledger",
            "database": "mysql",
            "use_worker": "true",
            "use_observability": "true",
            "use_kubernetes": "true",
            "ci": "gitlab",
            "python_version": "3.12",
        },
    ),
    ("fastapi", {"database": "none", "use_docker": "false", "ci": "none", "use_observability": "true"}),
]


def copier_questions() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "copier.yml").read_text())
    return {name: spec for name, spec in config.items() if not name.startswith("_")}


def choice_values(spec: dict[str, Any]) -> list[str]:
    choices = spec["choices"]
    return [str(value) for value in (choices.values() if isinstance(choices, dict) else choices)]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_copier_asks_the_cookiecutter_questions(framework: str) -> None:
    questions = copier_questions()
    assert next(iter(questions)) == "framework", "Copier asks for the framework first"
    assert choice_values(questions["framework"]) == list(FRAMEWORKS)
    assert questions["framework"]["default"] == "fastapi"
    context = template_context(framework)
    asked = [name for name in context if not name.startswith("_")]
    assert [name for name in questions if name not in COPIER_ONLY] == asked, "same questions, same order"
    for name in asked:
        ours, theirs = questions[name], context[name]
        if isinstance(theirs, list):
            assert choice_values(ours) == theirs, name
            assert ours["default"] == theirs[0], name
        elif isinstance(theirs, bool):
            assert ours["type"] == "bool" and ours["default"] is theirs, name
        elif "{" not in theirs and "{" not in str(ours["default"]):
            assert ours["default"] == theirs, name
    assert questions["cookiecutter"]["when"] is False, "the computed answer is never asked"
    computed = set(re.findall(r'"(\w+)": \w+', questions["cookiecutter"]["default"]))
    assert computed == set(asked), "the templates' cookiecutter holds every answer"


def test_every_project_records_the_current_release() -> None:
    version = (ROOT / "VERSION").read_text().strip()
    for framework in FRAMEWORKS:
        record = ROOT / f"{framework}-template" / "{{cookiecutter.project_slug}}" / ".template-release"
        assert record.read_text() == version + "\n", f"{record} must name the release in VERSION"


def test_releases_are_found_from_the_history_without_tags() -> None:
    """Each release is the commit that introduced its CHANGELOG heading, and that commit's
    VERSION names it; the newest heading is the release in VERSION."""
    releases = changelog_releases((ROOT / "CHANGELOG.md").read_text())
    assert releases and releases[0] == (ROOT / "VERSION").read_text().strip()
    assert len(set(releases)) == len(releases)
    for release in releases:
        commit = release_commit(ROOT, release)
        if commit is None:
            # Only the release being written may be uncommitted yet.
            assert release == releases[0], f"no commit introduced the heading of {release}"
            continue
        assert git(ROOT, "show", f"{commit}:VERSION").strip() == release, f"{commit} is {release}"
        print(f"{release}: {commit[:12]}")


def tree(project: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file and folder (mode, bytes) but Copier's answers file; .env without its secret."""
    files: dict[str, tuple[int, bytes | None]] = {}
    for path in sorted(project.rglob("*")):
        relative = str(path.relative_to(project))
        if relative == ANSWERS_FILE:
            continue
        data = path.read_bytes() if path.is_file() else None
        if relative == ".env" and data is not None:
            data = re.sub(rb"(?m)^SECRET_KEY=\S+$", b"SECRET_KEY=<secret>", data)
        files[relative] = (stat.S_IMODE(path.lstat().st_mode), data)
    return files


def copier_copy(template: Path, destination: Path, answers: dict[str, str]) -> subprocess.CompletedProcess[str]:
    data = [f"--data={name}={value}" for name, value in answers.items()]
    return subprocess.run(
        [
            str(BIN / "copier"),
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",
            *data,
            str(template),
            str(destination),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def cookiecutter_bake(template: Path, output: Path, framework: str, answers: dict[str, str]) -> Path:
    pairs = [f"{name}={value}" for name, value in answers.items()]
    args = [str(BIN / "cookiecutter"), str(template), "--no-input", "--directory", f"{framework}-template"]
    subprocess.run([*args, "-o", str(output), *pairs], capture_output=True, text=True, timeout=300, check=True)
    (project,) = output.iterdir()
    return project


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "answers"), ANSWER_SETS, ids=lambda value: str(value))
def test_copier_and_cookiecutter_make_the_same_tree(
    snapshot: Path, tmp_path: Path, framework: str, answers: dict[str, str]
) -> None:
    made = cookiecutter_bake(snapshot, tmp_path / "cookiecutter", framework, answers)
    copied = tmp_path / "copier"
    done = copier_copy(snapshot, copied, {"framework": framework, **answers})
    assert done.returncode == 0, done.stdout + done.stderr
    ours, theirs = tree(copied), tree(made)
    assert sorted(ours) == sorted(theirs), set(ours) ^ set(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []
    env = (copied / ".env").read_text()
    if "SECRET_KEY=" in env:
        assert "SECRET_KEY=change-me" not in env and env != (made / ".env").read_text(), "a fresh secret of its own"
    recorded = yaml.safe_load((copied / ANSWERS_FILE).read_text())
    assert recorded["framework"] == framework and "cookiecutter" not in recorded
    assert recorded["_commit"] and recorded["_src_path"] == str(snapshot)
    print(f"{framework} {answers}: {len(ours)} paths, identical")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("answers", "refusal"),
    [
        ({"project_slug": "json"}, "project_slug='json' would shadow the standard library module 'json'"),
        ({"database": "none", "use_auth": "true"}, "use_auth=true"),
        ({"use_auth": "false", "use_worker": "true"}, "use_worker=true"),
    ],
)
def test_copier_refuses_as_the_hook_does(snapshot: Path, tmp_path: Path, answers: dict[str, str], refusal: str) -> None:
    destination = tmp_path / "refused"
    done = copier_copy(snapshot, destination, {"framework": "flask", **answers})
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR: ")]
    assert errors and refusal in errors[0], done.stderr
    assert not destination.exists(), "a refused copy leaves no folder behind"
    pairs = [f"{name}={value}" for name, value in answers.items()]
    baked = subprocess.run(
        [
            str(BIN / "cookiecutter"),
            str(snapshot),
            "--no-input",
            "--directory",
            "flask-template",
            "-o",
            str(tmp_path),
            *pairs,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert errors[0] in baked.stdout + baked.stderr, "the same line as cookiecutter's refusal"


def test_the_hook_under_copier_renders_the_manifest_and_steps() -> None:
    """Copier runs the post-generation hook unrendered: it takes ``__prune`` and ``__next_steps``
    from the template's cookiecutter.json and renders them with the answers."""
    post = load_hook("post_gen_project")
    answers = {"project_name": "Shop", "project_slug": "shop", "database": "none", "use_auth": False}
    context = post.copier_context(answers, ROOT / "fastapi-template" / "cookiecutter.json")
    assert "shop/db" in context["__prune"]["database"]["none"]
    assert "uv run fastapi dev shop/main.py" in context["__next_steps"]["uv"]
    assert "" in context["__next_steps"]["uv"], "the migration step is empty without a database"
    assert context["project_slug"] == "shop" and "__prune" not in answers
