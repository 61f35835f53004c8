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


def test_a_cors_preflight_needs_no_token(database_url: str, client: FlaskClient) -> None:
    origin = "https://app.example.com"
    preflight = {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    cors = create_app(make_config(DATABASE_URL=database_url, CORS_ORIGINS=origin)).test_client()
    response = cors.options("/api/v1/users/me", headers=preflight)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Allow-Headers"].lower() == "authorization"
    assert "Origin" in response.vary
    # Without CORS_ORIGINS, OPTIONS is a method the path does not have.
    assert client.options("/api/v1/users/me", headers=preflight).status_code == 405
