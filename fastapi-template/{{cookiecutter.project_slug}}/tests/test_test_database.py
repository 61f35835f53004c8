import pytest
from database_server import choose_test_database_url, same_database

DEVELOPMENT = "{{ 'postgresql://postgres@localhost:5432/' if cookiecutter.database == 'postgresql' else 'mysql://root@localhost:3306/' }}app"


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (DEVELOPMENT, True),
        ("{{ 'postgres://postgres:pw@127.0.0.1/' if cookiecutter.database == 'postgresql' else 'mariadb://root:pw@127.0.0.1/' }}app", True),
        ("{{ 'postgresql+asyncpg://u@[::1]:5432/' if cookiecutter.database == 'postgresql' else 'mysql+asyncmy://u@[::1]:3306/' }}app", True),
        (DEVELOPMENT + "_test", False),
        (DEVELOPMENT.replace("localhost", "db.example"), False),
        (DEVELOPMENT.replace("{{ '5432' if cookiecutter.database == 'postgresql' else '3306' }}", "6543"), False),
    ],
)
def test_same_database(other: str, same: bool) -> None:
    assert same_database(DEVELOPMENT, other) is same


def test_default_is_the_development_name_plus_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", DEVELOPMENT)
    assert choose_test_database_url({}) == DEVELOPMENT + "_test"


def test_refuses_to_run_on_the_development_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", DEVELOPMENT)
    # The session empties its database: pointing it at the real one must stop everything.
    with pytest.raises(pytest.exit.Exception, match="TEST_DATABASE_URL names the DATABASE_URL"):
        choose_test_database_url({"TEST_DATABASE_URL": DEVELOPMENT})
