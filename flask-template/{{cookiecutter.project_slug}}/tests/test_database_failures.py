"""A database that cannot be reached: every route answers 503 with `Retry-After`, no 500."""

from __future__ import annotations

from typing import Any

from sqlalchemy import make_url

from {{ cookiecutter.project_slug }} import create_app
{%- if cookiecutter.use_auth %}
from {{ cookiecutter.project_slug }}.security import create_access_token
{%- endif %}

from .helpers import make_config


def unreachable(database_url: str) -> str:
    url = make_url(database_url)
    if url.host is None:
        # A database file in a folder that does not exist cannot be opened.
        return url.set(database="/nonexistent-folder/unreachable.db").render_as_string(False)
    # Port 1 on this machine: nothing listens there, so connecting is refused at once.
    return url.set(host="127.0.0.1", port=1).render_as_string(False)


def test_unreachable_database_answers_503(database_url: str) -> None:
    app = create_app(make_config(DATABASE_URL=unreachable(database_url), DATABASE_TIMEOUT=2))
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/v1/items", None),
        ("POST", "/api/v1/items", {"name": "kept"}),
        ("DELETE", "/api/v1/items/1", None),
    ]
    headers: dict[str, str] = {}
{%- if cookiecutter.use_auth %}
    with app.app_context():
        token, _ = create_access_token(1)
    headers["Authorization"] = f"Bearer {token}"
    calls += [
        ("GET", "/api/v1/users/me", None),
        ("POST", "/api/v1/auth/register", {"email": "a@example.com", "password": "long enough"}),
    ]
{%- endif %}
    client = app.test_client()
    for method, path, body in calls:
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 503, (method, path, response.get_data(as_text=True))
        assert response.get_json() == {"detail": "Service Unavailable"}
        assert response.headers["Retry-After"] == "2"
