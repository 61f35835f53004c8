"""Accounts and ids as a client meets them, over real HTTP under granian, in both
templates: one rule spells an email for register and login alike (NFKC, lowercase, RFC
5321's lengths), a NUL in a password is 422, and SQLite never hands out the id of a
deleted item again."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.baking import FRAMEWORKS, bake
from tests.serving import serving

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
REGISTER, TOKEN = "/api/v1/auth/register", "/api/v1/auth/token"


def fullwidth(text: str) -> str:
    """``text`` in fullwidth forms (U+FF01 to U+FF5E), which NFKC folds back to ASCII."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


@pytest.fixture(scope="module", params=FRAMEWORKS)
def client(request: pytest.FixtureRequest, cookies_session: Any, tmp_path_factory: Any) -> Iterator[httpx.Client]:
    """The default project (SQLite, auth) of each framework, under its production server."""
    baked = bake(cookies_session, request.param, database="sqlite", use_auth=True)
    log = tmp_path_factory.mktemp("accounts") / "server.log"
    with serving(baked, log, {}) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


def register(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post(REGISTER, json={"email": email, "password": password})


def login(client: httpx.Client, username: str) -> httpx.Response:
    return client.post(TOKEN, data={"username": username, "password": PASSWORD})


def test_other_spellings_of_an_email_are_the_same_account(client: httpx.Client) -> None:
    registered = register(client, unicodedata.normalize("NFC", "José@example.com"))
    assert registered.status_code == 201, registered.text
    assert registered.json()["email"] == "josé@example.com"
    spellings = (
        unicodedata.normalize("NFD", "josé@example.com"),  # e and a combining accent
        fullwidth("jos") + "é@" + fullwidth("example.com"),
        "JOSÉ" + fullwidth("@") + "example.com",
    )
    for spelling in spellings:
        assert login(client, spelling).status_code == 200, f"login as {spelling!a}"
        again = register(client, spelling)
        assert again.status_code == 409, f"register {spelling!a}: {again.status_code} {again.text}"


@pytest.mark.parametrize(("local", "status"), [("a" * 64, 201), ("a" * 65, 422), ("é" * 32, 201), ("é" * 33, 422)])
def test_at_most_64_octets_before_the_at_sign(client: httpx.Client, local: str, status: int) -> None:
    """RFC 5321, 4.5.3.1.1."""
    answer = register(client, f"{local}@example.com")
    assert answer.status_code == status, f"{len(local.encode())}-byte local part: {answer.text}"
    if status == 422:
        assert answer.json()["detail"][0]["loc"] == ["body", "email"]


def test_a_nul_in_a_password_is_422(client: httpx.Client) -> None:
    """docs/contract.md: a NUL in any text input is 422."""
    answer = register(client, "nul@example.com", "pass\x00word-long")
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "password"]


def test_a_deleted_items_id_is_never_handed_out_again(client: httpx.Client) -> None:
    assert register(client, "ids@example.com").status_code == 201
    headers = {"Authorization": f"Bearer {login(client, 'ids@example.com').json()['access_token']}"}
    ids = [client.post("/api/v1/items", json={"name": f"item {n}"}, headers=headers).json()["id"] for n in range(3)]
    assert client.delete(f"/api/v1/items/{ids[-1]}", headers=headers).status_code == 204
    after = client.post("/api/v1/items", json={"name": "after the delete"}, headers=headers)
    assert after.status_code == 201, after.text
    print(f"ids {ids}, deleted {ids[-1]}, next {after.json()['id']}")
    assert after.json()["id"] > ids[-1], f"the deleted item's id {ids[-1]} was handed out again"
    assert client.get(f"/api/v1/items/{ids[-1]}", headers=headers).status_code == 404
