"""SECRET_KEY signs the access tokens: production refuses a weak one, in one line."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from {{ cookiecutter.project_slug }}.core.config import (
    ConfigError,
    Settings,
    get_settings,
    get_settings_or_exit,
)

STRONG_KEY = os.urandom(32).hex()
WORDS = ("change", "example", "placeholder", "secret", "password", "replace", "your")


def load(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("secret_key", "reason"),
    [
        ("", "is not set"),
        ("   ", "is not set"),
        ("aZ3$" * 7, "shorter than 32"),
        ("abcabcabc0" * 4, "fewer than 10 different"),
        ("change-me", "shorter than 32"),
        *[(f"q8Vt2LmX{word.upper()}pR4wYz7NcBfH1jKdTs9G", "placeholder") for word in WORDS],
    ],
)
def test_production_refuses_a_weak_secret(secret_key: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as refused:
        load(environment="production", secret_key=secret_key)
    if secret_key:
        assert secret_key not in str(refused.value)


def test_a_refused_secret_is_one_line_without_the_value(environment: pytest.MonkeyPatch) -> None:
    weak = "our-placeholder-value-0123456789-abcdef"
    environment.setenv("ENVIRONMENT", "production")
    environment.setenv("SECRET_KEY", weak)
    with pytest.raises(ConfigError) as refused:
        get_settings()
    line = str(refused.value)
    assert "\n" not in line
    assert line.startswith("invalid settings: SECRET_KEY looks like a placeholder")
    assert 'python -c "import os; print(os.urandom(32).hex())"' in line
    assert weak not in line

    # What the entry points show: that line alone, no traceback.
    with pytest.raises(SystemExit) as stopped:
        get_settings_or_exit()
    assert stopped.value.code == line


def test_generated_keys_pass_the_production_rule() -> None:
    for _ in range(20):
        load(environment="production", secret_key=os.urandom(32).hex())


def test_production_accepts_a_strong_secret() -> None:
    settings = load(environment="production", secret_key=STRONG_KEY)
    assert settings.signing_key == STRONG_KEY
    assert not settings.show_docs


def test_development_without_secret_uses_a_random_one() -> None:
    first, second = load(environment="development"), load(environment="development")
    assert first.random_secret_key
    assert not load(environment="development", secret_key=STRONG_KEY).random_secret_key
    assert len(first.signing_key) >= 32
    assert first.signing_key != second.signing_key


def test_the_random_key_warning_is_a_log_line_in_the_configured_format(tmp_path: Path) -> None:
    # As in a fresh clone, where .env (git-ignored) is missing: the warning must come out as
    # one JSON line like every other, or it breaks whatever reads the log.
    project = Path(__file__).resolve().parents[1]
    environ = {key: value for key, value in os.environ.items() if key != "SECRET_KEY"}
    environ.update(LOG_FORMAT="json", ENVIRONMENT="development")
{%- if cookiecutter.use_observability %}
    environ["METRICS_PORT"] = "0"  # no metrics listener: another test may hold its port
{%- endif %}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project), environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", "import {{ cookiecutter.project_slug }}.main"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    warnings = [line["message"] for line in lines if line["level"] == "WARNING"]
    assert warnings == [
        "SECRET_KEY is not set: using a random key for this process "
        "(access tokens will not survive a restart)"
    ]
