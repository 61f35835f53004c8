"""A black-box walk through docs/contract.md (the HTTP contract) against a running service.

``walk(base_url, ...)`` makes every call the contract lists for the project's
options, asserts the status and body the contract promises, and returns the
exchanges so that two services can be compared call by call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

ISO_WITH_OFFSET = ("Z", "+00:00")


@dataclass
class Exchange:
    label: str
    status: int
    body: Any
    challenge: str | None  # the WWW-Authenticate header


# Passwords the walk sends: no answer may ever contain one.
PASSWORDS = ("correct horse", "bob's password", "p" * 129, "s3cr3t")


@dataclass
class Walk:
    client: httpx.Client
    exchanges: list[Exchange] = field(default_factory=list)

    def call(self, label: str, method: str, path: str, status: int, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        leaked = [password for password in PASSWORDS if password in response.text]
        assert not leaked, f"{label}: the answer holds a password: {response.text[:300]}"
        body: Any = None
        if response.content:
            assert response.headers["content-type"].startswith("application/json"), (
                f"{label}: {method} {path} answered {response.headers['content-type']}: {response.text[:200]}"
            )
            body = response.json()
        assert response.status_code == status, f"{label}: {method} {path} answered {response.status_code}: {body}"
        self.exchanges.append(Exchange(label, response.status_code, body, response.headers.get("www-authenticate")))
        return body

    def invalid(self, label: str, method: str, path: str, loc: list[Any], **kwargs: Any) -> None:
        body = self.call(label, method, path, 422, **kwargs)
        assert isinstance(body["detail"], list) and body["detail"], f"{label}: {body}"
        for error in body["detail"]:
            assert {"loc", "msg", "type"} <= error.keys(), f"{label}: {error}"
        assert loc in [error["loc"][: len(loc)] for error in body["detail"]], f"{label}: no error at {loc}: {body}"


def check_timestamp(value: str) -> None:
    assert value.endswith(ISO_WITH_OFFSET), f"{value} has no UTC offset"
    datetime.fromisoformat(value)


def check_user(user: dict[str, Any], email: str) -> None:
    assert set(user) == {"id", "email", "created_at"}, user
    assert user["email"] == email
    check_timestamp(user["created_at"])


def check_item(item: dict[str, Any], use_auth: bool) -> None:
    keys = {"id", "name", "description", "created_at", "updated_at"} | ({"owner_id"} if use_auth else set())
    assert set(item) == keys, item
    check_timestamp(item["created_at"])
    check_timestamp(item["updated_at"])


def walk(base_url: str, *, database: bool, use_auth: bool, secret_key: str | None) -> list[Exchange]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        w = Walk(client)
        health = w.call("health", "GET", "/health", 200)
        assert health == ({"status": "ok", "database": "ok"} if database else {"status": "ok"})
        assert w.call("unknown route", "GET", "/no/such/route", 404) == {"detail": "Not Found"}
        assert w.call("wrong method", "DELETE", "/health", 405) == {"detail": "Method Not Allowed"}
        headers: dict[str, str] = {}
        if use_auth:
            assert secret_key
            headers = walk_auth(w, secret_key)
        if database:
            walk_items(w, headers, use_auth)
        else:
            w.call("no items without a database", "GET", "/api/v1/items", 404)
        return w.exchanges


def token_for(w: Walk, email: str, password: str) -> dict[str, str]:
    token = w.call("token", "POST", "/api/v1/auth/token", 200, data={"username": email, "password": password})
    assert set(token) == {"access_token", "token_type", "expires_in"} and token["token_type"] == "bearer"
    assert isinstance(token["expires_in"], int) and token["expires_in"] > 0
    return {"Authorization": f"Bearer {token['access_token']}"}


def walk_auth(w: Walk, secret_key: str) -> dict[str, str]:
    register = "/api/v1/auth/register"
    user = w.call("register", "POST", register, 201, json={"email": "Ada@Example.com", "password": "correct horse"})
    check_user(user, "ada@example.com")
    duplicate = w.call(
        "register again, other case", "POST", register, 409, json={"email": "ADA@example.com", "password": "x" * 8}
    )
    assert duplicate == {"detail": "Email already registered"}
    w.invalid("register bad email", "POST", register, ["body", "email"], json={"email": "ada", "password": "x" * 8})
    w.invalid(
        "register short password",
        "POST",
        register,
        ["body", "password"],
        json={"email": "b@example.com", "password": "s3cr3t"},
    )
    w.invalid(
        "register long password",
        "POST",
        register,
        ["body", "password"],
        json={"email": "b@example.com", "password": "p" * 129},
    )
    w.invalid(
        "register unknown field",
        "POST",
        register,
        ["body", "admin"],
        json={"email": "b@example.com", "password": "x" * 8, "admin": True},
    )
    w.invalid(
        "register malformed json",
        "POST",
        register,
        ["body"],
        content=b'{"email": ',
        headers={"Content-Type": "application/json"},
    )

    token = "/api/v1/auth/token"
    refused = {"detail": "Incorrect email or password"}
    wrong = w.call(
        "token wrong password", "POST", token, 401, data={"username": "ada@example.com", "password": "wrong one"}
    )
    unknown = w.call(
        "token unknown email", "POST", token, 401, data={"username": "eve@example.com", "password": "wrong one"}
    )
    assert wrong == unknown == refused
    assert w.exchanges[-1].challenge == w.exchanges[-2].challenge == "Bearer"
    w.invalid("token without password", "POST", token, ["body", "password"], data={"username": "ada@example.com"})
    headers = token_for(w, "  ADA@example.com ", "correct horse")

    me = "/api/v1/users/me"
    assert w.call("me without token", "GET", me, 401) == {"detail": "Not authenticated"}
    assert w.exchanges[-1].challenge == "Bearer"
    bad = {"detail": "Could not validate credentials"}
    assert w.call("me with garbage token", "GET", me, 401, headers={"Authorization": "Bearer not-a-token"}) == bad
    assert w.call("me with basic auth", "GET", me, 401, headers={"Authorization": "Basic YTpi"}) == {
        "detail": "Not authenticated"
    }
    w.call("me with empty bearer", "GET", me, 401, headers={"Authorization": "Bearer"})
    now = datetime.now(UTC)
    claims = {"sub": str(user["id"]), "iat": now, "exp": now + timedelta(minutes=5)}
    forged = jwt.encode(claims, "another secret that is long enough to sign", algorithm="HS256")
    assert w.call("me with forged token", "GET", me, 401, headers={"Authorization": f"Bearer {forged}"}) == bad
    expired = jwt.encode(
        {**claims, "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)}, secret_key, "HS256"
    )
    assert w.call("me with expired token", "GET", me, 401, headers={"Authorization": f"Bearer {expired}"}) == bad
    assert w.exchanges[-1].challenge == "Bearer"
    ghost = jwt.encode({**claims, "sub": "999999"}, secret_key, "HS256")
    assert (
        w.call("me for a user that does not exist", "GET", me, 401, headers={"Authorization": f"Bearer {ghost}"}) == bad
    )
    check_user(w.call("me", "GET", me, 200, headers=headers), "ada@example.com")
    return headers


def walk_items(w: Walk, headers: dict[str, str], use_auth: bool) -> None:
    items = "/api/v1/items"
    if use_auth:
        assert w.call("items without token", "GET", items, 401) == {"detail": "Not authenticated"}
        w.call("create item without token", "POST", items, 401, json={"name": "x"})
    first = w.call("create item", "POST", items, 201, headers=headers, json={"name": "first", "description": None})
    check_item(first, use_auth)
    assert first["updated_at"] == first["created_at"], "a new item's updated_at is its created_at"
    time.sleep(0.01)  # distinct created_at, so "newest first" is observable
    second = w.call("create item 2", "POST", items, 201, headers=headers, json={"name": "second", "description": "2nd"})
    assert second["description"] == "2nd"
    for label, body, loc in [
        ("create item empty name", {"name": ""}, ["body", "name"]),
        ("create item long name", {"name": "x" * 101}, ["body", "name"]),
        ("create item no name", {"description": "d"}, ["body", "name"]),
        ("create item long description", {"name": "x", "description": "d" * 1001}, ["body", "description"]),
        ("create item unknown field", {"name": "x", "colour": "red"}, ["body", "colour"]),
        ("create item with NUL", {"name": "a\x00b"}, ["body", "name"]),
    ]:
        w.invalid(label, "POST", items, loc, headers=headers, json=body)
    w.invalid(
        "create item malformed json",
        "POST",
        items,
        ["body"],
        headers={**headers, "Content-Type": "application/json"},
        content=b"{nope",
    )
    w.invalid(
        "create item as text",
        "POST",
        items,
        ["body"],
        headers={**headers, "Content-Type": "text/plain"},
        content=b"name=x",
    )

    page = w.call("list items", "GET", items, 200, headers=headers)
    assert set(page) == {"items", "total", "limit", "offset"} and (page["limit"], page["offset"]) == (20, 0)
    assert page["total"] == 2 and [i["id"] for i in page["items"]] == [second["id"], first["id"]], "newest first"
    paged = w.call("list items page 2", "GET", items, 200, headers=headers, params={"limit": 1, "offset": 1})
    assert (paged["total"], paged["limit"], paged["offset"]) == (2, 1, 1) and paged["items"] == [first]
    for label, params, loc in [
        ("list limit 0", {"limit": 0}, ["query", "limit"]),
        ("list limit 101", {"limit": 101}, ["query", "limit"]),
        ("list offset -1", {"offset": -1}, ["query", "offset"]),
        ("list limit not a number", {"limit": "many"}, ["query", "limit"]),
        ("list offset past any row id", {"offset": 2**31}, ["query", "offset"]),
    ]:
        w.invalid(label, "GET", items, loc, headers=headers, params=params)

    one = f"{items}/{first['id']}"
    assert w.call("get item", "GET", one, 200, headers=headers) == first
    missing = {"detail": "Item not found"}
    assert w.call("get missing item", "GET", f"{items}/999999", 404, headers=headers) == missing
    w.invalid("get item bad id", "GET", f"{items}/abc", ["path", "item_id"], headers=headers)
    w.invalid("get item id 0", "GET", f"{items}/0", ["path", "item_id"], headers=headers)
    w.invalid("get item id too big", "GET", f"{items}/{2**63}", ["path", "item_id"], headers=headers)
    assert w.call("items with a trailing slash", "GET", f"{items}/", 404, headers=headers) == {"detail": "Not Found"}
    patched = w.call("patch item", "PATCH", one, 200, headers=headers, json={"description": "now described"})
    assert patched["name"] == "first" and patched["description"] == "now described"
    assert patched["updated_at"] >= first["updated_at"]
    assert w.call("patch item nothing", "PATCH", one, 200, headers=headers, json={}) == patched
    w.invalid("patch item empty name", "PATCH", one, ["body", "name"], headers=headers, json={"name": ""})
    w.invalid("patch item null name", "PATCH", one, ["body", "name"], headers=headers, json={"name": None})
    w.invalid("patch item unknown field", "PATCH", one, ["body", "colour"], headers=headers, json={"colour": "red"})
    assert w.call("patch missing item", "PATCH", f"{items}/999999", 404, headers=headers, json={"name": "x"}) == missing

    if use_auth:
        w.call(
            "register other user",
            "POST",
            "/api/v1/auth/register",
            201,
            json={"email": "bob@example.com", "password": "bob's password"},
        )
        bob = token_for(w, "bob@example.com", "bob's password")
        assert w.call("other user's list", "GET", items, 200, headers=bob) == {
            "items": [],
            "total": 0,
            "limit": 20,
            "offset": 0,
        }
        assert w.call("other user's get", "GET", one, 404, headers=bob) == missing
        assert w.call("other user's patch", "PATCH", one, 404, headers=bob, json={"name": "mine"}) == missing
        assert w.call("other user's delete", "DELETE", one, 404, headers=bob) == missing
        assert w.call("owner still has it", "GET", one, 200, headers=headers)["name"] == "first"

    assert w.call("delete item", "DELETE", one, 204, headers=headers) is None
    assert w.call("delete item again", "DELETE", one, 404, headers=headers) == missing
    assert w.call("list after delete", "GET", items, 200, headers=headers)["total"] == 1


def shape(value: Any) -> Any:
    """The JSON shape of a value: keys and types, not the data."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def comparable(exchange: Exchange) -> tuple[Any, ...]:
    """What two services must agree on for one call: status, challenge, and
    the body's shape; for invalid input each error's location and type, and
    for any other error the whole body."""
    body = exchange.body
    if exchange.status == 422:
        errors = sorted((tuple(error["loc"]), error["type"]) for error in body["detail"])
        return exchange.status, exchange.challenge, errors
    if exchange.status >= 400:
        return exchange.status, exchange.challenge, body
    return exchange.status, exchange.challenge, shape(body)
