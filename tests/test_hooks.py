"""The hooks' functions, called directly (the bakes in test_bake.py run them whole)."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import pytest

from tests.baking import ROOT, load_hook

pre = load_hook("pre_gen_project")
post = load_hook("post_gen_project")

GOOD: dict[str, Any] = {
    "project_name": "Orders Service",
    "project_slug": "orders_service",
    "description": "Takes orders.",
    "author_name": "Ada Lovelace",
    "author_email": "ada@example.com",
    "version": "0.1.0",
    "python_version": "3.13",
    "database": "sqlite",
    "use_auth": True,
    "use_docker": False,
    "ci": "github",
}


def refusals(**changes: Any) -> list[str]:
    errors: list[str] = pre.validate({**GOOD, **changes})
    return errors


def test_good_answers_pass() -> None:
    assert refusals() == []


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("my service", "not a valid package name"),
        ("My_Service", "not a valid package name"),
        ("1service", "not a valid package name"),
        ("orders-service", "not a valid package name"),
        ("", "not a valid package name"),
        ("class", "Python keyword"),
        ("match", "Python keyword"),
        ("json", "standard library"),
        ("test", "standard library"),
        ("asyncio", "standard library"),
        ("flask", "depends on"),
        ("fastapi", "depends on"),
        ("sqlalchemy", "depends on"),
        ("tests", "keeps beside its package"),
    ],
)
def test_bad_slug_is_refused_with_its_reason(slug: str, reason: str) -> None:
    (error,) = refusals(project_slug=slug)
    assert error.startswith(f"project_slug={slug!r}") and reason in error
    assert "pick another name" in error or "use lowercase letters" in error


def test_slug_longer_than_the_import_lines_allow_is_refused() -> None:
    assert refusals(project_slug="s" * 28) == []
    (error,) = refusals(project_slug="s" * 29)
    assert "longer than 28 characters" in error


def test_reserved_names_cover_every_import_the_projects_install() -> None:
    """Every top-level module that installing either template's libraries brings
    (dependencies of dependencies too) is refused as a slug."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from tests.test_dependencies import closure

    requirements = [
        Requirement(line)
        for name in ("fastapi", "flask")
        for line in (ROOT / "requirements" / f"{name}-projects.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    installed = closure(requirements)
    imports = {
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if any(canonicalize_name(d) in installed for d in distributions) and pre.SLUG_RE.match(module)
    }
    assert imports, "the projects' libraries are not installed here"
    missing = sorted(imports - pre.PROJECT_NAMES - pre.STDLIB_NAMES)
    assert not missing, f"add to PROJECT_NAMES in hooks/pre_gen_project.py: {missing}"


@pytest.mark.parametrize("slug", ["orders", "orders_service", "svc2", "a_b_c"])
def test_good_slugs_pass(slug: str) -> None:
    assert refusals(project_slug=slug) == []


@pytest.mark.parametrize(
    "version",
    ["0.1.0", "1.0", "2024.11", "1.0.0rc1", "1.0a2", "1.0.post1", "1.0.dev3", "1!2.0", "1.0+local.7", "1.0.0-alpha.2"],
)
def test_pep440_versions_pass(version: str) -> None:
    assert refusals(version=version) == []


@pytest.mark.parametrize("version", ["", "one", "1.0.0-", "1..0", "v", "1.0 beta", "latest", " 1.0 ", "1.0\n"])
def test_non_pep440_versions_are_refused(version: str) -> None:
    (error,) = refusals(version=version)
    assert f"version={version!r} is not a PEP 440 version" in error


@pytest.mark.parametrize(
    "email",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada @example.com",
        "a@b@c.io",
        'a"b@example.com',
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "a@-example.com",
        "a@example-.com",
        "a@example..com",
    ],
)
def test_bad_emails_are_refused(email: str) -> None:
    (error,) = refusals(author_email=email)
    assert f"author_email={email!r} is not an email address" in error


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_project_name_is_refused(name: str) -> None:
    errors = refusals(project_name=name)
    assert any(e.startswith(f"project_name={name!r} is empty") for e in errors)


@pytest.mark.parametrize("option", ["project_name", "description", "author_name"])
@pytest.mark.parametrize("text", ['The "best" API', "back\\slash", "two\nlines", "tab\there"])
def test_text_that_generated_files_cannot_hold_is_refused(option: str, text: str) -> None:
    (error,) = refusals(**{option: text})
    assert error.startswith(f"{option}={text!r} holds a double quote, a backslash or a line break")


@pytest.mark.parametrize("text", ["Zoë's Café API", "Orders & invoices: 100% async <fast>", "{braces} [brackets]"])
def test_other_text_passes(text: str) -> None:
    assert refusals(project_name=text, description=text, author_name=text) == []


def test_auth_without_database_is_refused() -> None:
    (error,) = refusals(database="none", use_auth=True)
    assert error.startswith("use_auth=true needs a database") and "use_auth=false" in error


def test_worker_without_auth_is_refused() -> None:
    (error,) = refusals(database="sqlite", use_auth=False, use_worker=True)
    assert error.startswith("use_worker=true needs use_auth=true") and "use_worker=false" in error


def test_kubernetes_without_docker_is_refused() -> None:
    (error,) = refusals(database="postgresql", use_docker=False, use_kubernetes=True)
    assert error.startswith("use_kubernetes=true needs use_docker=true") and "use_kubernetes=false" in error


def test_kubernetes_with_sqlite_is_refused() -> None:
    (error,) = refusals(database="sqlite", use_docker=True, use_kubernetes=True)
    assert error.startswith("use_kubernetes=true cannot run database='sqlite'") and "postgresql" in error


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("use_worker", "no", "use_worker='no' is not a yes/no answer"),
        ("use_observability", 1, "use_observability=1 is not a yes/no answer"),
        ("use_kubernetes", "true", "use_kubernetes='true' is not a yes/no answer"),
        ("database", "oracle", "database='oracle' is not one of the choices"),
        ("ci", "jenkins", "ci='jenkins' is not one of the choices"),
        ("use_auth", "yes", "use_auth='yes' is not a yes/no answer"),
        ("use_docker", "false", "use_docker='false' is not a yes/no answer"),
        ("python_version", "3.10", "python_version='3.10' is not supported"),
        ("python_version", "three", "python_version='three' is not supported"),
    ],
)
def test_other_bad_answers_are_refused(option: str, value: Any, message: str) -> None:
    errors = refusals(**{option: value})
    assert any(message in error for error in errors), errors


def test_every_refusal_is_reported_at_once() -> None:
    assert len(refusals(project_slug="json", author_email="x", version="?")) == 3


def test_pre_main_prints_one_line_per_refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pre, "CONTEXT_JSON", json.dumps({**GOOD, "project_slug": "json", "version": "x"}))
    assert pre.main() == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("ERROR: ") for line in lines)
    monkeypatch.setattr(pre, "CONTEXT_JSON", json.dumps(GOOD))
    assert pre.main() == 0


# --- post-generation --------------------------------------------------------

MANIFEST = {
    "database": {"none": ["app/db", "migrations", "tests/test_items.py"]},
    "use_auth": {"false": ["app/auth.py", "tests/test_auth.py"]},
    "ci": {"github": [".gitlab-ci.yml"], "gitlab": [".github"], "none": [".github", ".gitlab-ci.yml"]},
}


def context(**answers: Any) -> dict[str, Any]:
    return {**GOOD, "__prune": MANIFEST, **answers}


def test_answer_keys_spell_booleans_as_json() -> None:
    assert [post.answer_key(v) for v in (True, False, "none", "3.13")] == ["true", "false", "none", "3.13"]


def test_paths_to_prune_follow_the_answers() -> None:
    assert post.paths_to_prune(context()) == [".gitlab-ci.yml"]
    assert post.paths_to_prune(context(database="none", use_auth=False, ci="none")) == [
        ".github",
        ".gitlab-ci.yml",
        "app/auth.py",
        "app/db",
        "migrations",
        "tests/test_auth.py",
        "tests/test_items.py",
    ]


def test_manifest_naming_an_unknown_option_is_a_template_bug() -> None:
    with pytest.raises(post.ManifestError, match="'colour'"):
        post.paths_to_prune({**context(), "__prune": {"colour": {"red": ["x"]}}})


def make_tree(root: Path, paths: list[str]) -> None:
    for relative in paths:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("x")


def test_prune_removes_files_and_folders_and_keeps_the_rest(tmp_path: Path) -> None:
    make_tree(tmp_path, ["app/db/models.py", "app/db/session.py", "app/main.py", ".github/workflows/ci.yml", "x.txt"])
    removed = post.prune(tmp_path, ["app/db", ".github", "app/db/models.py"])
    assert removed == [tmp_path / "app/db", tmp_path / ".github"]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["app", "app/main.py", "x.txt"]


def test_prune_refuses_a_path_the_template_lacks(tmp_path: Path) -> None:
    with pytest.raises(post.ManifestError, match=r"'nothing\.py'"):
        post.prune(tmp_path, ["nothing.py"])


@pytest.mark.parametrize("path", ["..", "../elsewhere", "/etc", "."])
def test_prune_refuses_paths_outside_the_project(tmp_path: Path, path: str) -> None:
    (tmp_path / "project").mkdir()
    with pytest.raises(post.ManifestError, match="outside the project"):
        post.prune(tmp_path / "project", [path])
    assert (tmp_path / "project").exists()


def test_write_env_replaces_only_the_placeholder(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("ENVIRONMENT=development\nSECRET_KEY=change-me\nLOG_LEVEL=INFO\n")
    env = post.write_env(tmp_path)
    assert env == tmp_path / ".env"
    lines = env.read_text().splitlines()
    assert lines[0] == "ENVIRONMENT=development" and lines[2] == "LOG_LEVEL=INFO"
    assert lines[1].startswith("SECRET_KEY=") and len(lines[1]) == len("SECRET_KEY=") + 64
    assert env.stat().st_mode & 0o777 == 0o600
    (tmp_path / ".env").unlink()
    post.write_env(tmp_path)
    assert (tmp_path / ".env").read_text().splitlines()[1] != lines[1], "each bake gets its own secret"


def test_write_env_keeps_an_existing_env_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".env.example").write_text("SECRET_KEY=change-me\n")
    (tmp_path / ".env").write_text("SECRET_KEY=mine\n")
    assert post.write_env(tmp_path) is None
    assert (tmp_path / ".env").read_text() == "SECRET_KEY=mine\n"
    assert "Kept the existing .env: compare it with .env.example" in capsys.readouterr().out


def test_write_env_adds_no_key_the_project_does_not_use(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("LOG_LEVEL=INFO\n")
    post.write_env(tmp_path)
    assert (tmp_path / ".env").read_text() == "LOG_LEVEL=INFO\n"


def test_next_steps_start_from_the_users_directory_and_skip_empty_lines(tmp_path: Path) -> None:
    project = tmp_path / "out" / "orders"
    text = post.next_steps(
        {"project_name": "Orders", "__next_steps": ["pip install -e .", "", "pytest"]}, project, str(tmp_path)
    )
    assert text.splitlines()[2:] == ["Next steps:", "  cd out/orders", "  pip install -e .", "  pytest"]
    assert "  cd ../out/orders" in post.next_steps({}, project, str(tmp_path / "elsewhere"))
    assert f"  cd {project}" in post.next_steps({}, project, None)


def test_post_main_reports_a_manifest_bug(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(post, "CONTEXT_JSON", json.dumps(context(ci="none")))
    assert post.main() == 1
    assert "template bug" in capsys.readouterr().err
