"""Helpers the fixture modules share."""

from {{ cookiecutter.project_slug }}.core.config import Settings


def make_settings(**overrides: object) -> Settings:
    """Settings for tests: explicit values, never the developer's `.env`."""
    values: dict[str, object] = {"environment": "test", "log_level": "WARNING", **overrides}
{%- if cookiecutter.use_worker %}
    # Jobs published by the app under test stay in the process, never on a real broker.
    values.setdefault("broker_url", "memory://")
{%- endif %}
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]
