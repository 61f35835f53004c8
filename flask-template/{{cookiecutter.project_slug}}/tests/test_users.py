from __future__ import annotations

from flask.testing import FlaskClient

from .helpers import AuthActions


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
