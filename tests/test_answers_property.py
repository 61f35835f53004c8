"""Property: any free text a user gives as project_name, description or
author_name is either refused with one clear line and no directory left, or
bakes a project whose pyproject.toml, YAML and Python files parse and whose
text shows the answer exactly as given. For a small fixed sample of hostile
answers, the baked project's own checks and tests pass as well.

Answers reach cookiecutter two ways, and both are exercised: typed at the
prompts (kept as typed), and on the command line or in a config file
(``--no-input``), where cookiecutter itself evaluates ``{{ }}``, ``{% %}``
and ``{# #}`` as Jinja before any hook sees them (a cookiecutter feature
that house defaults rely on), so that path is only given text without them."""

from __future__ import annotations

import ast
import re
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.baking import FRAMEWORKS, load_hook, project_env, run, run_project_tests, template_context, template_dir

FREE_TEXT = ("project_name", "description", "author_name")
JINJA_MARKERS = re.compile(r"\{[{%#]|[}%#]\}")
# Pieces that mean something to TOML, YAML, Markdown, Python, Jinja or a shell.
SPECIALS = [
    "'",
    '"',
    "\\",
    "{{ 7*7 }}",
    "{{ cookiecutter.project_slug }}",
    "{% if true %}x{% endif %}",
    "{% raw %}",
    "{# note #}",
    "{{",
    "}}",
    "{%",
    "%}",
    '"""',
    "'''",
    "[tool]",
    "key = value",
    "# comment",
    ": ",
    "- ",
    "&anchor",
    "*alias",
    "!!python/object",
    "|",
    ">",
    "@",
    "`",
    "$HOME",
    "${x}",
    "%s",
    "\t",
    "\n",
    "\r",
    "\x00",
    "\u00a0",
    "\u2028",
    "Zoë",
    "Ærøskøbing",
    "北京",
    "مرحبا",
    "🚀",
    "👩‍💻",
    "e\u0301",
    "\ufeff",
    "null",
    "true",
    "0x10",
    "1e3",
    "~",
]
fragments = st.one_of(
    st.sampled_from(SPECIALS),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.text("abcdefghij ", min_size=1, max_size=8),
)
free_text = st.one_of(
    st.lists(fragments, max_size=6).map("".join),
    st.integers(min_value=100, max_value=600).map(lambda n: ("Very long name " * 50)[:n]),
)
answers = st.fixed_dictionaries({option: free_text for option in FREE_TEXT})


def typing_at_the_prompts(typed: dict[str, str]) -> list[Any]:
    """Cookiecutter's prompts answered as a user would: the free text typed,
    the first choice and every other default taken."""

    def read_user_variable(name: str, default: Any, *_: Any, **__: Any) -> Any:
        return typed.get(name, default)

    def read_user_choice(_name: str, options: list[Any], *_: Any, **__: Any) -> Any:
        return options[0]

    def read_user_yes_no(_name: str, default: Any, *_: Any, **__: Any) -> Any:
        return default

    patches = [
        mock.patch("cookiecutter.prompt.read_user_variable", read_user_variable),
        mock.patch("cookiecutter.prompt.read_user_choice", read_user_choice),
        mock.patch("cookiecutter.prompt.read_user_yes_no", read_user_yes_no),
    ]
    return patches


def attempt(framework: str, given: dict[str, str], typed: bool, where: Path) -> tuple[Path | None, Exception | None]:
    config = where / "config.yaml"
    config.write_text(
        yaml.safe_dump({"cookiecutters_dir": str(where / "cc"), "replay_dir": str(where / "replay")}),
        encoding="utf-8",
    )
    out = where / "out"
    out.mkdir()
    try:
        if typed:
            patches = typing_at_the_prompts(given)
            for patch in patches:
                patch.start()
            try:
                project = cookiecutter(str(template_dir(framework)), output_dir=str(out), config_file=str(config))
            finally:
                for patch in patches:
                    patch.stop()
        else:
            project = cookiecutter(
                str(template_dir(framework)),
                no_input=True,
                extra_context=given,
                output_dir=str(out),
                config_file=str(config),
            )
    except FailedHookException as refused:
        return None, refused
    return Path(project), None


def check_refusal(stderr: str, given: dict[str, str], out: Path) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) >= 1, f"refused {given!r} without saying why:\n{stderr}"
    assert all(re.match(r"ERROR: [a-z_]+=", line) for line in errors), errors
    # One line per refused answer, and only free text (or the slug made from the name) refused.
    options = [re.match(r"ERROR: ([a-z_]+)=", line).group(1) for line in errors]  # type: ignore[union-attr]
    assert len(options) == len(set(options)), errors
    assert set(options) <= {*FREE_TEXT, "project_slug"}, errors
    assert "Traceback" not in stderr
    assert list(out.iterdir()) == [], f"a refused bake left {list(out.iterdir())}"


def check_baked(project: Path, given: dict[str, str]) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert pyproject["description"] == given["description"]
    assert pyproject["authors"][0]["name"] == given["author_name"]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[0] == f"# {given['project_name']}", readme.splitlines()[0]
    for path in [*project.rglob("*.yml"), *project.rglob("*.yaml")]:
        list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    for path in project.rglob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    titles = [
        node.value.value
        for path in project.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "title" for t in node.targets)
        and isinstance(node.value, ast.Constant)
    ]
    assert titles in ([], [given["project_name"]]), titles


OUTCOMES: dict[tuple[str, str], int] = {}


def property_for(framework: str, capfd: pytest.CaptureFixture[str]) -> Callable[..., None]:
    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(given=answers, typed=st.booleans())
    def check(given: dict[str, str], typed: bool) -> None:
        if not typed:
            # On the command line cookiecutter evaluates Jinja itself, and argv holds no NUL.
            given = {k: JINJA_MARKERS.sub("", v).replace("\x00", "") for k, v in given.items()}
        capfd.readouterr()
        with tempfile.TemporaryDirectory() as where:
            project, refused = attempt(framework, given, typed, Path(where))
            stderr = capfd.readouterr().err
            outcome = f"{'typed' if typed else 'command line'}: {'refused' if refused else 'baked'}"
            event(outcome)
            OUTCOMES[framework, outcome] = OUTCOMES.get((framework, outcome), 0) + 1
            if refused is not None:
                check_refusal(stderr, given, Path(where) / "out")
            else:
                assert project is not None
                check_baked(project, given)

    return check


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_free_text_answers_are_refused_in_one_line_or_kept_as_given(
    framework: str, capfd: pytest.CaptureFixture[str]
) -> None:
    property_for(framework, capfd)()


# A fixed, bounded sample whose projects are checked and tested in full.
HOSTILE = {
    "long-unicode": {
        "project_name": "Zoë's 北京 Café 🚀 Orders",
        "description": "Orders: [fast] & {typed} # not a comment - 'quoted' ~ null " + "y" * 200,
        "author_name": "Ærøskøbing O'Brien-Nuñez 👩‍💻",
    },
    "widest-name-longest-text": {
        "project_name": "🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀 Orders 🚀🚀🚀🚀🚀",
        "description": "x" * 300,
        "author_name": "A" * 200,
    },
    "jinja-typed": {
        "project_name": "Orders {{ 7*7 }} {% raw %}",
        "description": "{# kept #} key = value: *alias &anchor !!str",
        "author_name": "{{ cookiecutter.author_name }}",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_answers_bake_a_project_that_passes_its_checks(
    tmp_path: Path, mypy_cache: Path, capfd: pytest.CaptureFixture[str], framework: str, case: str
) -> None:
    given = HOSTILE[case]
    project, refused = attempt(framework, given, typed=True, where=tmp_path)
    assert refused is None and project is not None, capfd.readouterr().err
    check_baked(project, given)
    env = project_env(MYPY_CACHE_DIR=str(mypy_cache))
    run(["ruff", "check", "--no-cache", "."], project, env)
    run(["ruff", "format", "--check", "--no-cache", "."], project, env)
    run(["python", "-m", "mypy"], project, env)
    run_project_tests(project, env)


@pytest.mark.parametrize("name", ["W" * 41, "北京" * 10 + "x", "🚀" * 21])
def test_a_name_wider_than_the_python_lines_allow_is_refused(name: str) -> None:
    errors = load_hook("pre_gen_project").validate({**template_context("fastapi"), "project_name": name})
    assert [e for e in errors if e.startswith("project_name=")] == [
        f"project_name={name!r} is wider than 40 characters: give a shorter name and put the rest in the description."
    ]


@pytest.mark.parametrize("name", ["W" * 40, "北京" * 10, "🚀" * 20, "e\u0301" * 40])
def test_a_name_as_wide_as_allowed_passes(name: str) -> None:
    errors = load_hook("pre_gen_project").validate({**template_context("fastapi"), "project_name": name})
    assert [e for e in errors if e.startswith("project_name=")] == []
