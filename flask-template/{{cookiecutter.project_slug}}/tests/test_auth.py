from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pwdlib import PasswordHash
from sqlalchemy import select

from {{ cookiecutter.project_slug }}.extensions import db
from {{ cookiecutter.project_slug }}.models import User

from .helpers import TEST_SECRET_KEY, AuthActions

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"


def test_register(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        body = {"email": "Ada@Example.COM", "password": "correct horse"}
        response = client.post(REGISTER, json=body)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    user = response.get_json()
    # The fields a user has, and never the password or its hash, whatever fields are added.
    assert set(user) >= {"id", "email", "created_at"}
    assert not {field for field in user if "password" in field}
    assert user["email"] == "ada@example.com"
    assert user["created_at"].endswith("Z")
    assert "correct horse" not in caplog.text


def test_password_is_stored_hashed(app: Flask, auth: AuthActions) -> None:
    auth.register()
    with app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        assert user.hashed_password.startswith("$argon2")


def test_register_twice_in_any_case_conflicts(client: FlaskClient, auth: AuthActions) -> None:
    auth.register("ada@example.com")
    response = client.post(REGISTER, json={"email": "ADA@example.com", "password": "another one"})
    assert response.status_code == 409
    assert response.get_json() == {"detail": "Email already registered"}


def fullwidth(text: str) -> str:
    """``text`` in fullwidth forms (U+FF01 to U+FF5E), which NFKC folds back to ASCII."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def test_other_spellings_of_an_email_are_the_same_account(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.register("José@example.com")
    # Decomposed (e and a combining accent), as some keyboards and systems send it.
    decomposed = unicodedata.normalize("NFD", "josé@example.com")
    for username in (decomposed, fullwidth("jos") + "é@example.com"):
        auth.token(username)
    for email in (
        decomposed,
        fullwidth("jos") + "é@" + fullwidth("example") + ".com",
        "JOSÉ" + fullwidth("@") + "example.com",
    ):
        response = client.post(REGISTER, json={"email": email, "password": "correct horse"})
        assert response.status_code == 409, email


DOMAIN_189 = f"{'b' * 63}.{'c' * 63}.{'d' * 57}.com"


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("a" * 64 + "@example.com", 201),
        ("a" * 65 + "@example.com", 422),
        ("é" * 32 + "@example.com", 201),
        ("é" * 33 + "@example.com", 422),
        ("a" * 64 + "@" + DOMAIN_189, 201),
        ("a" * 64 + "@x" + DOMAIN_189, 422),
    ],
)
def test_email_lengths_follow_rfc_5321(client: FlaskClient, email: str, status: int) -> None:
    # At most 64 bytes before the @ and 254 in all.
    response = client.post(REGISTER, json={"email": email, "password": "correct horse"})
    assert response.status_code == status, response.get_json()


@pytest.mark.parametrize(
    ("payload", "loc", "error_type"),
    [
        ({"email": "not-an-email", "password": "long enough"}, ["body", "email"], "value_error"),
        (
            {"email": "ada@example.com", "password": "short"},
            ["body", "password"],
            "string_too_short",
        ),
        (
            {"email": "ada@example.com", "password": "x" * 129},
            ["body", "password"],
            "string_too_long",
        ),
        ({"email": "ada@example.com"}, ["body", "password"], "missing"),
        (
            {"email": "ada@example.com", "password": "long\x00enough"},
            ["body", "password"],
            "string_pattern_mismatch",
        ),
        (
            {"email": "ada@example.com", "password": "long\ud800enough"},
            ["body", "password"],
            "string_unicode",
        ),
        (
            {"email": "ad\x00a@example.com", "password": "long enough"},
            ["body", "email"],
            "value_error",
        ),
        (
            {"email": "ada@example.com", "password": "long enough", "admin": True},
            ["body", "admin"],
            "extra_forbidden",
        ),
    ],
)
def test_register_validation(
    client: FlaskClient, payload: dict[str, object], loc: list[str], error_type: str
) -> None:
    response = client.post(REGISTER, json=payload)
    assert response.status_code == 422
    [error] = response.get_json()["detail"]
    assert (error["loc"], error["type"]) == (loc, error_type)


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        (REGISTER, {"email": "ada@example.com", "password": "tiny"}),
        (REGISTER, {"email": "not-an-email", "password": "correct horse", "extra": "x"}),
        (REGISTER, [{"email": "ada@example.com", "password": "correct horse"}]),
        (REGISTER, '{"email": "ada@example.com", "password": "correct'),
        (TOKEN, {"username": "ada@example.com", "password": "correct horse"}),
    ],
)
def test_auth_errors_never_echo_the_input(client: FlaskClient, path: str, payload: object) -> None:
    if isinstance(payload, str):
        response = client.post(path, data=payload, content_type="application/json")
    else:
        response = client.post(path, json=payload)
    assert response.status_code == 422
    errors = response.get_json()["detail"]
    assert errors
    assert all("input" not in error and {"type", "loc", "msg"} <= set(error) for error in errors)
    assert "correct" not in response.get_data(as_text=True)
    assert "tiny" not in response.get_data(as_text=True)


def test_auth_errors_keep_the_context(client: FlaskClient) -> None:
    response = client.post(REGISTER, json={"email": "ada@example.com", "password": "short"})
    [error] = response.get_json()["detail"]
    assert error == {
        "type": "string_too_short",
        "loc": ["body", "password"],
        "msg": "String should have at least 8 characters",
        "ctx": {"min_length": 8},
    }


def test_token(client: FlaskClient, auth: AuthActions) -> None:
    auth.register()
    response = client.post(
        TOKEN, data={"username": "  ADA@example.com\t", "password": "correct horse"}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 30 * 60)
    claims = jwt.decode(body["access_token"], TEST_SECRET_KEY, algorithms=["HS256"])
    assert {"sub", "iat", "exp"} <= set(claims)


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("ada@example.com", "wrong password"),
        ("nobody@example.com", "correct horse"),
        ("ada@example.com\x00", "correct horse"),
        ("ada@example.com", "correct horse\x00"),
    ],
    ids=["wrong password", "unknown email", "NUL in the email", "NUL in the password"],
)
def test_token_refuses_bad_credentials_alike(
    client: FlaskClient, auth: AuthActions, username: str, password: str
) -> None:
    auth.register()
    response = client.post(TOKEN, data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Incorrect email or password"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_email_still_verifies_a_hash(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = PasswordHash.verify

    def spy(self: PasswordHash, password: str | bytes, hash: str | bytes) -> bool:
        calls.append(str(password))
        return original(self, password, hash)

    monkeypatch.setattr(PasswordHash, "verify", spy)
    client.post(TOKEN, data={"username": "nobody@example.com", "password": "guess"})
    assert calls == ["guess"]


def test_token_form_validation(client: FlaskClient) -> None:
    response = client.post(TOKEN, data={"username": "ada@example.com"})
    assert response.status_code == 422
    assert response.get_json()["detail"] == [
        {"type": "missing", "loc": ["body", "password"], "msg": "Field required"}
    ]

    as_json = client.post(TOKEN, json={"username": "ada@example.com", "password": "x"})
    assert [error["loc"] for error in as_json.get_json()["detail"]] == [
        ["body", "username"],
        ["body", "password"],
    ]

    grant = client.post(TOKEN, data={"username": "a", "password": "b", "grant_type": "other"})
    assert grant.get_json()["detail"][0]["type"] == "string_pattern_mismatch"

    empty = client.post(TOKEN, data={"username": "ada@example.com", "password": ""})
    assert [error["loc"] for error in empty.get_json()["detail"]] == [["body", "password"]]


def test_form_fields_are_taken_as_text(client: FlaskClient, auth: AuthActions) -> None:
    auth.register("ada@example.com", "12345678")
    response = client.post(TOKEN, data={"username": "ada@example.com", "password": "12345678"})
    assert response.status_code == 200


def token_for(
    user_id: int | str,
    *,
    key: str = TEST_SECRET_KEY,
    expires_in: timedelta = timedelta(minutes=5),
    exp: Callable[[int], object] | None = None,
) -> str:
    """A token issued now; its ``exp`` is ``exp(now)`` when given, else now + ``expires_in``."""
    now = int(time.time())
    expires = exp(now) if exp else now + int(expires_in.total_seconds())
    return jwt.encode({"sub": str(user_id), "iat": now, "exp": expires}, key, algorithm="HS256")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic YWRhOnNlY3JldA==",
        "Token abc",
    ],
)
def test_me_without_a_bearer_token(client: FlaskClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/api/v1/users/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_me_refuses_bad_tokens(client: FlaskClient, auth: AuthActions) -> None:
    user_id = auth.register()["id"]
    bad_tokens = {
        "malformed": "not.a.token",
        "empty": "",
        "forged": token_for(user_id, key="another-secret-key-that-is-long-enough"),
        "expired": token_for(user_id, expires_in=timedelta(minutes=-1)),
        "unknown user": token_for(user_id + 1000),
        "non-numeric subject": token_for("ada"),
        "signed subject": token_for(f"+{user_id}"),
        "padded subject": token_for(f" {user_id}"),
        "leading zero": token_for(f"0{user_id}"),
        "other digits": token_for(
            str(user_id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
        ),
        "beyond any id": token_for(2**70),
        "numeric subject": jwt.encode(
            {
                "sub": user_id,
                "iat": datetime.now(UTC),
                "exp": datetime.now(UTC) + timedelta(minutes=5),
            },
            TEST_SECRET_KEY,
            algorithm="HS256",
        ),
        "no expiry": jwt.encode({"sub": str(user_id)}, TEST_SECRET_KEY, algorithm="HS256"),
        "exp written as a string": token_for(user_id, exp=lambda now: str(now + 60)),
        "exp as a float": token_for(user_id, exp=lambda now: now + 60.5),
        "lives too long": token_for(user_id, expires_in=timedelta(minutes=31)),
        "exp at 2**64": token_for(user_id, exp=lambda now: 2**64),
    }
    # Within the setting's lifetime (30 minutes in the test config), the same token passes.
    good = token_for(user_id, expires_in=timedelta(minutes=30))
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {good}"})
    assert response.status_code == 200
    for reason, token in bad_tokens.items():
        response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, reason
        assert response.get_json() == {"detail": "Could not validate credentials"}, reason
        assert response.headers["WWW-Authenticate"] == "Bearer", reason


def test_every_route_that_needs_a_token_documents_401(client: FlaskClient) -> None:
    # Whatever routes the project has: each one the document marks as needing a token.
    paths = client.get("/openapi.json").get_json()["paths"]
    secured = {
        f"{method.upper()} {path}": operation["responses"]
        for path, operations in paths.items()
        for method, operation in operations.items()
        if operation.get("security")
    }
    assert "GET /api/v1/users/me" in secured
    assert [route for route, responses in secured.items() if "401" not in responses] == []
