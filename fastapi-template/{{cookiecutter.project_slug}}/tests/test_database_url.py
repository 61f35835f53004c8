"""DATABASE_URL: the plain forms people write get the async driver; others, one clear line."""

from collections.abc import Iterator

import pytest

from {{ cookiecutter.project_slug }}.core.config import (
    ConfigError,
    Settings,
    get_settings,
    to_async_url,
)
from {{ cookiecutter.project_slug }}.db import {{ cookiecutter.database }} as dialect

PLAIN_FORMS = [
    (f"{scheme}://u@h/db", driver)
    for pair in dialect.DRIVERS.items()
    # Both the plain scheme and the one already naming the driver.
    for scheme, driver in (pair, (pair[1], pair[1]))
]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize(("raw", "driver"), PLAIN_FORMS)
def test_plain_database_urls_get_the_async_driver(raw: str, driver: str) -> None:
    assert to_async_url(raw).drivername == driver
    settings = Settings(_env_file=None, database_url=raw)
    assert settings.database_url == raw


@pytest.mark.parametrize(
    "raw",
    [
        "foo",
        "oracle://scott:tiger-pass@db.example/orcl",
        "mssql+pyodbc://u:tiger-pass@h/db",
    ],
)
def test_an_unusable_database_url_is_one_clear_line(
    raw: str, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("DATABASE_URL", raw)
    with pytest.raises(ConfigError) as refused:
        get_settings()
    line = str(refused.value)
    assert line.startswith("invalid settings: DATABASE_URL: not a URL this project can use")
    assert dialect.URL_FORMS in line
    assert "\n" not in line
    assert "tiger" not in line
