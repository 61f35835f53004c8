from __future__ import annotations

from flask.testing import FlaskClient

from {{ cookiecutter.project_slug }} import create_app

from .helpers import AuthActions, make_config


def test_me(client: FlaskClient, auth: AuthActions) -> None:
    user = auth.register("ada@example.com", "correct horse")
    token = auth.token("ada@example.com", "correct horse")
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json() == user
    assert response.headers["Cache-Control"] == "no-store"


def test_me_accepts_the_scheme_in_any_case(client: FlaskClient, auth: AuthActions) -> None:
    auth.register()
    response = client.get("/api/v1/users/me", headers={"Authorization": f"bearer {auth.token()}"})
    assert response.status_code == 200


def test_a_cors_preflight_needs_no_token_and_is_no_attempt(database_url: str) -> None:
    origin = "https://app.example.com"
    # One attempt a minute: were preflights attempts, the second would be refused.
    settings = {"CORS_ORIGINS": origin, "LOGIN_RATE_LIMIT": "1/minute"}
    client = create_app(make_config(DATABASE_URL=database_url, **settings)).test_client()
    for path in ("/api/v1/users/me", "/api/v1/auth/register", "/api/v1/auth/register"):
        response = client.options(
            path,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert response.status_code == 200, (path, response.get_json())
        assert response.headers["Access-Control-Allow-Origin"] == origin
        allowed = response.headers["Access-Control-Allow-Headers"].lower()
        assert allowed == "authorization, content-type"
        assert "Origin" in response.vary
