import json
import os
import secrets
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi import FastAPI, HTTPException
from httpx import AsyncClient
from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.project_slug }}.core import security
from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.core.ratelimit import AttemptLimiter
from {{ cookiecutter.project_slug }}.core.security import create_access_token, decode_access_token
from {{ cookiecutter.project_slug }}.db.models import User

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/users/me"
PASSWORD = "correct-horse"
JSON = "application/json"


async def register(client: AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(REGISTER, json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def assert_credentials_refused(
    response: Any, detail: str = "Could not validate credentials"
) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"


async def test_register_returns_the_user_without_password(client: AsyncClient) -> None:
    user = await register(client, "New.User@Example.COM")
    # The fields a user has, and never the password or its hash, whatever fields are added.
    assert set(user) >= {"id", "email", "created_at"}
    assert not {field for field in user if "password" in field}
    assert user["email"] == "new.user@example.com"
    assert user["created_at"].endswith("Z")


async def test_register_twice_is_409_whatever_the_case(client: AsyncClient) -> None:
    await register(client, "carol@example.com")
    response = await client.post(
        REGISTER, json={"email": "CAROL@example.com", "password": PASSWORD}
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "Email already registered"}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, ["body", "email"]),
        ({"email": "d@example.com", "password": "short"}, ["body", "password"]),
        ({"email": "d@example.com", "password": "x" * 129}, ["body", "password"]),
        ({"email": "d@example.com", "password": "pass\x00word"}, ["body", "password"]),
        ({"email": "d@example.com"}, ["body", "password"]),
        ({"email": "d@example.com", "password": PASSWORD, "admin": True}, ["body", "admin"]),
    ],
)
async def test_register_validation(
    client: AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    response = await client.post(REGISTER, json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


async def test_token_and_me(client: AsyncClient, app: FastAPI) -> None:
    user = await register(client, "dave@example.com")
    response = await client.post(TOKEN, data={"username": "DAVE@example.com", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == app.state.settings.access_token_expire_minutes * 60

    claims = jwt.decode(body["access_token"], app.state.settings.signing_key, algorithms=["HS256"])
    assert claims["sub"] == str(user["id"])
    assert claims["exp"] - claims["iat"] == body["expires_in"]

    me = await client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == user


@pytest.mark.parametrize(
    ("username", "password"),
    [("erin@example.com", "wrong-password"), ("nobody@example.com", PASSWORD)],
)
async def test_bad_credentials_look_the_same(
    client: AsyncClient, username: str, password: str
) -> None:
    await register(client, "erin@example.com")
    response = await client.post(TOKEN, data={"username": username, "password": password})
    assert_credentials_refused(response, "Incorrect email or password")


async def test_token_form_fields_are_required(client: AsyncClient) -> None:
    response = await client.post(TOKEN, data={"password": PASSWORD})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "username"]


async def test_email_is_trimmed_and_lowercased_at_login(client: AsyncClient) -> None:
    await register(client, "heidi@example.com")
    response = await client.post(
        TOKEN, data={"username": "  Heidi@EXAMPLE.com \t", "password": PASSWORD}
    )
    assert response.status_code == 200


def fullwidth(text: str) -> str:
    """``text`` in fullwidth forms (U+FF01 to U+FF5E), which NFKC folds back to ASCII."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


async def test_other_spellings_of_an_email_are_the_same_account(client: AsyncClient) -> None:
    await register(client, "José@example.com")
    # Decomposed (e and a combining accent), as some keyboards and systems send it.
    decomposed = unicodedata.normalize("NFD", "josé@example.com")
    for username in (decomposed, fullwidth("jos") + "é@example.com"):
        response = await client.post(TOKEN, data={"username": username, "password": PASSWORD})
        assert response.status_code == 200, username
    for email in (
        decomposed,
        fullwidth("jos") + "é@" + fullwidth("example") + ".com",
        "JOSÉ" + fullwidth("@") + "example.com",
    ):
        response = await client.post(REGISTER, json={"email": email, "password": PASSWORD})
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
async def test_email_lengths_follow_rfc_5321(client: AsyncClient, email: str, status: int) -> None:
    # At most 64 bytes before the @ and 254 in all.
    response = await client.post(REGISTER, json={"email": email, "password": PASSWORD})
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    ("path", "send"),
    [
        (REGISTER, {"json": {"email": "ivan@example.com", "password": "hunter2"}}),
        (REGISTER, {"json": {"email": "hunter2", "password": "hunter2-long-enough"}}),
        (REGISTER, {"json": {"email": "ivan@example.com", "password": 12345678}}),
        (REGISTER, {"content": b'{"password": "hunter2', "headers": {"Content-Type": JSON}}),
        (TOKEN, {"data": {"password": "hunter2"}}),
    ],
)
async def test_validation_errors_never_echo_what_was_sent(
    client: AsyncClient, path: str, send: dict[str, Any]
) -> None:
    response = await client.post(path, **send)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert errors
    for error in errors:
        assert "input" not in error
        assert {"type", "loc", "msg"} <= set(error)
    assert "hunter2" not in response.text


async def test_validation_errors_keep_their_context(client: AsyncClient) -> None:
    response = await client.post(REGISTER, json={"email": "judy@example.com", "password": "short"})
    error = response.json()["detail"][0]
    assert error == {
        "type": "string_too_short",
        "loc": ["body", "password"],
        "msg": "String should have at least 8 characters",
        "ctx": {"min_length": 8},
    }


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz"])
async def test_me_without_a_bearer_token(client: AsyncClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert_credentials_refused(await client.get(ME, headers=headers), "Not authenticated")


# "Bearer" with nothing after it is a bearer token that fails to validate, not a missing one.
@pytest.mark.parametrize("authorization", ["Bearer not.a.jwt", "Bearer", "bearer x"])
async def test_me_with_garbage_token(client: AsyncClient, authorization: str) -> None:
    response = await client.get(ME, headers={"Authorization": authorization})
    assert_credentials_refused(response)


async def test_me_with_forged_token(client: AsyncClient) -> None:
    user = await register(client, "frank@example.com")
    forged = create_access_token(str(user["id"]), "another-secret-" * 4, timedelta(minutes=5))
    response = await client.get(ME, headers={"Authorization": f"Bearer {forged}"})
    assert_credentials_refused(response)


async def test_me_with_expired_token(client: AsyncClient, app: FastAPI) -> None:
    user = await register(client, "grace@example.com")
    key = app.state.settings.signing_key
    expired = create_access_token(str(user["id"]), key, timedelta(seconds=-1))
    response = await client.get(ME, headers={"Authorization": f"Bearer {expired}"})
    assert_credentials_refused(response)


@pytest.mark.parametrize("subject", ["999999", "not-a-number"])
async def test_me_for_unknown_subject(client: AsyncClient, app: FastAPI, subject: str) -> None:
    token = create_access_token(subject, app.state.settings.signing_key, timedelta(minutes=5))
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert_credentials_refused(response)


def test_tokens_without_required_claims_are_refused() -> None:
    key = "k" * 40
    no_exp = jwt.encode({"sub": "1", "iat": datetime.now(UTC)}, key, algorithm="HS256")
    numeric_sub = jwt.encode(
        {"sub": 1, "iat": datetime.now(UTC), "exp": datetime.now(UTC) + timedelta(minutes=1)},
        key,
        algorithm="HS256",
    )
    assert decode_access_token(no_exp, key, 30) is None
    assert decode_access_token(numeric_sub, key, 30) is None


@pytest.mark.parametrize(
    ("reason", "exp"),
    [
        ("exp written as a string", lambda now: str(now + 60)),
        ("exp as a float", lambda now: now + 60.5),
        ("lives longer than ACCESS_TOKEN_EXPIRE_MINUTES", lambda now: now + 10 * 365 * 86400),
        ("exp at 2**64", lambda now: 2**64),
    ],
)
async def test_tokens_signed_with_the_real_key_live_no_longer_than_the_setting(
    client: AsyncClient, app: FastAPI, reason: str, exp: Callable[[int], object]
) -> None:
    user = await register(client, "lee@example.com")
    now = int(time.time())
    claims = {"sub": str(user["id"]), "iat": now, "exp": exp(now)}
    token = jwt.encode(claims, app.state.settings.signing_key, algorithm="HS256")
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert_credentials_refused(response)
    # The same token within the setting's lifetime is accepted.
    claims["exp"] = now + 60 * app.state.settings.access_token_expire_minutes
    token = jwt.encode(claims, app.state.settings.signing_key, algorithm="HS256")
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, reason


async def test_token_and_user_answers_are_not_stored(client: AsyncClient) -> None:
    user = await register(client, "kim@example.com")
    token = await client.post(TOKEN, data={"username": "kim@example.com", "password": PASSWORD})
    refused = await client.post(TOKEN, data={"username": "kim@example.com", "password": "nope"})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    me = await client.get(ME, headers=headers)
    assert me.json() == user
    for response in (token, refused, me, await client.get(ME)):
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "subject", ["+{id}", " {id}", "0{id}", "{id} ", "\u0661", "2147483648", "1" * 5000, "0", ""]
)
async def test_only_the_canonical_decimal_subject_is_accepted(
    client: AsyncClient, app: FastAPI, subject: str
) -> None:
    user = await register(client, "lou@example.com")
    key = app.state.settings.signing_key
    canonical = create_access_token(str(user["id"]), key, timedelta(minutes=5))
    accepted = await client.get(ME, headers={"Authorization": f"Bearer {canonical}"})
    assert accepted.status_code == 200
    token = create_access_token(subject.format(id=user["id"]), key, timedelta(minutes=5))
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert_credentials_refused(response)


@pytest.mark.parametrize("username", ["a\x00b@example.com", "\x00", "mia@example.com\x00"])
async def test_a_username_with_nul_is_an_unknown_email(client: AsyncClient, username: str) -> None:
    await register(client, "mia@example.com")
    response = await client.post(TOKEN, data={"username": username, "password": PASSWORD})
    assert_credentials_refused(response, "Incorrect email or password")


@pytest.mark.parametrize("password", ["a\ud800bcdefgh", "\udfff" * 8])
async def test_a_password_with_a_surrogate_is_422(client: AsyncClient, password: str) -> None:
    body = json.dumps({"email": "ned@example.com", "password": password}).encode()
    response = await client.post(REGISTER, content=body, headers={"Content-Type": JSON})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


def assert_too_many(response: Any, window: int) -> None:
    assert response.status_code == 429
    assert response.json() == {"detail": "Too Many Requests"}
    assert 1 <= int(response.headers["retry-after"]) <= window


async def test_login_attempts_are_limited_per_address(app: FastAPI, client: AsyncClient) -> None:
    app.state.attempt_limiter = AttemptLimiter("3/minute")
    for _ in range(3):
        response = await client.post(TOKEN, data={"username": "x@example.com", "password": "p"})
        assert response.status_code == 401
    assert_too_many(await client.post(TOKEN, data={"username": "y@example.com"}), 60)
    # Registration has a budget of its own.
    await register(client, "olga@example.com")


async def test_register_attempts_are_limited(app: FastAPI, client: AsyncClient) -> None:
    app.state.attempt_limiter = AttemptLimiter("2/minute")
    await register(client, "pat@example.com")
    await register(client, "quinn@example.com")
    assert_too_many(await client.post(REGISTER, json={}), 60)


async def test_login_attempts_are_limited_per_email(app: FastAPI, client: AsyncClient) -> None:
    limiter = AttemptLimiter("2/minute")
    app.state.attempt_limiter = limiter
    form = {"username": "Rob@example.com", "password": "wrong-password"}
    for _ in range(2):
        assert (await client.post(TOKEN, data=form)).status_code == 401
        # Another address each time: only the email's own count is left to refuse.
        await limiter.limiter.clear(limiter.rates[0], TOKEN, "127.0.0.1")
    assert_too_many(await client.post(TOKEN, data={**form, "username": "rob@example.com"}), 60)


def test_the_rate_setting_is_checked_at_load() -> None:
    with pytest.raises(ValidationError, match="30/minute"):
        Settings(_env_file=None, login_rate_limit="often")
    with pytest.raises(ValidationError, match="redis://"):
        Settings(_env_file=None, redis_url="localhost:6379")
    assert Settings(_env_file=None).login_rate_limit == "30/minute"


# Given (README, "Tests"), a Redis that does not answer there fails the test.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


@pytest.mark.skipif(not TEST_REDIS_URL, reason="set TEST_REDIS_URL to run it (README, Tests)")
async def test_attempts_counted_in_redis_are_shared() -> None:
    first = AttemptLimiter("2/minute", TEST_REDIS_URL)
    second = AttemptLimiter("2/minute", TEST_REDIS_URL)
    key = ("test", secrets.token_hex(8))
    await first.hit(*key)
    # A second process (another limiter) sees the first one's attempt.
    await second.hit(*key)
    with pytest.raises(HTTPException) as refused:
        await first.hit(*key)
    assert refused.value.status_code == 429
    assert refused.value.headers is not None
    assert "Retry-After" in refused.value.headers


async def test_hashing_waits_for_a_free_slot_then_answers_503(
    client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(security, "HASHING_WAIT_SECONDS", 0.05)
    taken = 0
    try:
        while not security._hashing_slots.locked():
            await security._hashing_slots.acquire()
            taken += 1
        response = await client.post(TOKEN, data={"username": "sam@example.com", "password": "x"})
    finally:
        for _ in range(taken):
            security._hashing_slots.release()
    assert response.status_code == 503
    assert response.json() == {"detail": "Service Unavailable"}
    assert response.headers["retry-after"] == "1"
    # Once a slot is free again, logins are answered as usual.
    response = await client.post(TOKEN, data={"username": "sam@example.com", "password": "x"})
    assert response.status_code == 401


async def test_the_stand_in_hash_is_built_at_start_up(app: FastAPI) -> None:
    security._dummy_hash.cache_clear()
    async with app.router.lifespan_context(app):
        # So the first login with an unknown email is not the slow one that tells.
        assert security._dummy_hash.cache_info().currsize == 1


async def test_a_token_whose_user_was_deleted_is_401_everywhere(
    client: AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # The item routes learn that the user is gone from their own query (api/routes/items.py).
    user = await register(client, "gone@example.com")
    login = await client.post(TOKEN, data={"username": "gone@example.com", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    item = await client.post("/api/v1/items", json={"name": "left behind"}, headers=headers)
    assert item.status_code == 201
    async with sessionmaker() as session:
        await session.execute(delete(User).where(User.id == user["id"]))
        await session.commit()
    calls = [
        ("GET", ME, None),
        ("GET", f"/api/v1/items/{item.json()['id']}", None),
        ("GET", "/api/v1/items", None),
        ("GET", "/api/v1/items?offset=5", None),
        ("POST", "/api/v1/items", {"name": "orphan"}),
        ("PATCH", f"/api/v1/items/{item.json()['id']}", {"name": "orphan"}),
        ("DELETE", f"/api/v1/items/{item.json()['id']}", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


def test_hashing_slots_follow_the_cpus_the_process_may_use(tmp_path: Path) -> None:
    """One slot per CPU of the affinity mask, capped by the cgroup's CPU quota (a pod's limit)."""
    cpu_max = tmp_path / "cpu.max"
    cpus = len(os.sched_getaffinity(0))
    cpu_max.write_text("max 100000\n")
    assert security.usable_cpus(cpu_max) == cpus
    cpu_max.write_text("50000 100000\n")  # half a CPU: still one slot
    assert security.usable_cpus(cpu_max) == 1
    cpu_max.write_text(f"{(cpus + 4) * 100000} 100000\n")  # a limit above what the mask allows
    assert security.usable_cpus(cpu_max) == cpus
    assert security.usable_cpus(tmp_path / "absent") == cpus


async def test_every_route_that_needs_a_token_documents_401(client: AsyncClient) -> None:
    # Whatever routes the project has: each one the document marks as needing a token.
    paths = (await client.get("/openapi.json")).json()["paths"]
    secured = {
        f"{method.upper()} {path}": operation["responses"]
        for path, operations in paths.items()
        for method, operation in operations.items()
        if operation.get("security")
    }
    assert f"GET {ME}" in secured
    assert [route for route, responses in secured.items() if "401" not in responses] == []
