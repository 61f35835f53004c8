"""What the tests check, and how they get a database, because it is SQLite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.config import ConfigError, Settings

from .helpers import make_config
from .testdb import refuse_the_development_database


def make_test_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """TEST_DATABASE_URL when set, else a temporary file."""
    return os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('database') / 'test.db'}"
    )


@pytest.mark.parametrize("url", ["foo", "oracle://scott@db/orcl", "", "sqlite:/missing-slashes.db"])
def test_a_bad_database_url_is_one_clear_line(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.load({"database_url": url})
    message = str(refused.value)
    assert message.startswith("Invalid settings: DATABASE_URL: expected ")
    assert "sqlite:///" in message
    assert "\n" not in message
    assert refused.value.__cause__ is None


def test_the_default_database_is_in_the_project_folder() -> None:
    expected = Path(__file__).resolve().parent.parent / "{{ cookiecutter.project_slug }}.db"
    assert Settings().database_url == f"sqlite:///{expected}"


def test_health_with_a_database_that_cannot_be_reached(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'app.db'}"
    response = create_app(make_config(DATABASE_URL=url)).test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


def test_the_tests_refuse_the_development_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:////srv/app/dev.db")
    with pytest.raises(pytest.exit.Exception, match="TEST_DATABASE_URL"):
        refuse_the_development_database("sqlite:////srv/app/dev.db")
    refuse_the_development_database("sqlite:////srv/app/dev_test.db")


def test_upgrade_says_in_one_line_when_the_database_is_missing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'app.db'}"
    runner = create_app(make_config(DATABASE_URL=url)).test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 1
    assert "Cannot connect to the database" in result.output
    assert "Traceback" not in result.output
