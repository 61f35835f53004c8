import re
from typing import Any

import pytest
from fastapi import FastAPI
from helpers import Headers, create
from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.project_slug }}.api.deps import SessionDep
from {{ cookiecutter.project_slug }}.db.models import Item

ITEMS = "/api/v1/items"
UTC_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\Z")


{%- if cookiecutter.use_auth %}


@pytest.fixture
def headers(auth_headers: Headers) -> Headers:
    return auth_headers
{%- else %}


@pytest.fixture
def headers() -> Headers:
    # No auth in this project: requests carry no credentials.
    return {}
{%- endif %}


async def test_create_and_read(client: AsyncClient, headers: Headers) -> None:
    item = await create(client, ITEMS, headers, name="pen", description="blue ink")
    # The fields every item has: one a project adds (say, tags) does not break this.
    assert set(item) >= {"id", "name", "description", "created_at", "updated_at"{% if cookiecutter.use_auth %}, "owner_id"{% endif %}}
    assert item["name"] == "pen"
    assert item["description"] == "blue ink"
    assert UTC_ISO.match(item["created_at"])
    assert UTC_ISO.match(item["updated_at"])

    response = await client.get(f"{ITEMS}/{item['id']}", headers=headers)
    assert response.status_code == 200
    assert response.json() == item


async def test_description_is_optional(client: AsyncClient, headers: Headers) -> None:
    response = await client.post(ITEMS, json={"name": "bare"}, headers=headers)
    assert response.status_code == 201
    assert response.json()["description"] is None


async def test_list_is_paginated_newest_first(client: AsyncClient, headers: Headers) -> None:
    for name in ("a", "b", "c"):
        await create(client, ITEMS, headers, name=name)
    response = await client.get(ITEMS, params={"limit": 2, "offset": 0}, headers=headers)
    assert response.status_code == 200
    page = response.json()
    assert [item["name"] for item in page["items"]] == ["c", "b"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)

    rest = (await client.get(ITEMS, params={"limit": 2, "offset": 2}, headers=headers)).json()
    assert [item["name"] for item in rest["items"]] == ["a"]


async def test_list_defaults(client: AsyncClient, headers: Headers) -> None:
    response = await client.get(ITEMS, headers=headers)
    assert response.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 2_147_483_648}, "offset"),
    ],
)
async def test_list_bounds(
    client: AsyncClient,
    headers: Headers,
    params: dict[str, Any],
    field: str,
) -> None:
    response = await client.get(ITEMS, params=params, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


async def test_list_upper_bounds_are_accepted(client: AsyncClient, headers: Headers) -> None:
    response = await client.get(ITEMS, params={"limit": 100}, headers=headers)
    assert response.status_code == 200
    response = await client.get(ITEMS, params={"offset": 2_147_483_647}, headers=headers)
    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_a_new_item_was_updated_when_it_was_created(
    client: AsyncClient, headers: Headers
) -> None:
    item = await create(client, ITEMS, headers, name="first")
    assert item["updated_at"] == item["created_at"]
    stored = await client.get(f"{ITEMS}/{item['id']}", headers=headers)
    assert stored.json()["updated_at"] == stored.json()["created_at"]


async def test_patch_changes_only_given_fields(client: AsyncClient, headers: Headers) -> None:
    item = await create(client, ITEMS, headers, name="pen", description="blue")
    response = await client.patch(
        f"{ITEMS}/{item['id']}", json={"description": None}, headers=headers
    )
    assert response.status_code == 200
    changed = response.json()
    assert changed["name"] == "pen"
    assert changed["description"] is None
    assert changed["updated_at"] >= item["updated_at"]

    renamed = await client.patch(f"{ITEMS}/{item['id']}", json={"name": "pencil"}, headers=headers)
    assert renamed.json()["name"] == "pencil"


@pytest.mark.parametrize(
    ("body", "error_type", "loc"),
    [
        ({"name": None}, "string_type", ["body", "name"]),
        ({"name": ""}, "string_too_short", ["body", "name"]),
        ({"name": "x" * 101}, "string_too_long", ["body", "name"]),
        ({"description": "x" * 1001}, "string_too_long", ["body", "description"]),
        ({"colour": "red"}, "extra_forbidden", ["body", "colour"]),
        ({"name": "a\x00b"}, "string_pattern_mismatch", ["body", "name"]),
        ({"description": "\x00"}, "string_pattern_mismatch", ["body", "description"]),
    ],
)
async def test_patch_validation(
    client: AsyncClient,
    headers: Headers,
    body: dict[str, Any],
    error_type: str,
    loc: list[str],
) -> None:
    item = await create(client, ITEMS, headers, name="first")
    response = await client.patch(f"{ITEMS}/{item['id']}", json=body, headers=headers)
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert (error["type"], error["loc"]) == (error_type, loc)


@pytest.mark.parametrize(
    ("body", "error_type", "loc"),
    [
        ({}, "missing", ["body", "name"]),
        ({"name": ""}, "string_too_short", ["body", "name"]),
        ({"name": "x" * 101}, "string_too_long", ["body", "name"]),
        ({"name": "ok", "description": "x" * 1001}, "string_too_long", ["body", "description"]),
        ({"name": "ok", "owner": 1}, "extra_forbidden", ["body", "owner"]),
        ({"name": 5}, "string_type", ["body", "name"]),
        # Not every database can store NUL: refused on all, so every database answers alike.
        ({"name": "a\x00b"}, "string_pattern_mismatch", ["body", "name"]),
        ({"name": "ok", "description": "\x00"}, "string_pattern_mismatch", ["body", "description"]),
    ],
)
async def test_create_validation(
    client: AsyncClient,
    headers: Headers,
    body: dict[str, Any],
    error_type: str,
    loc: list[str],
) -> None:
    response = await client.post(ITEMS, json=body, headers=headers)
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert (error["type"], error["loc"]) == (error_type, loc)
    assert {"type", "loc", "msg", "input"} <= set(error)


@pytest.mark.parametrize("field", ["name", "description"])
async def test_an_unpaired_surrogate_is_422_not_500(
    client: AsyncClient, headers: Headers, field: str
) -> None:
    # Valid JSON, but no database can store it: refused, and the 422 still shows the input.
    body = b'{"name": "ok", "%s": "a\\ud800"}' % field.encode()
    response = await client.post(
        ITEMS, content=body, headers={"Content-Type": "application/json", **headers}
    )
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert (error["loc"], error["input"]) == (["body", field], "a\ud800")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [(ITEMS, "GET, POST"), (f"{ITEMS}/1", "DELETE, GET, PATCH")],
)
async def test_405_lists_every_method_of_the_path(
    client: AsyncClient, headers: Headers, path: str, allowed: str
) -> None:
    response = await client.put(path, json={}, headers=headers)
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert response.headers["allow"] == allowed


async def test_malformed_json_is_422(client: AsyncClient, headers: Headers) -> None:
    response = await client.post(
        ITEMS,
        content=b'{"name": ',
        headers={"Content-Type": "application/json", **headers},
    )
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["type"] == "json_invalid"
    assert error["loc"][0] == "body"


@pytest.mark.parametrize(
    ("item_id", "error_type"),
    [
        ("abc", "int_parsing"),
        ("0", "greater_than_equal"),
        ("-1", "greater_than_equal"),
        # Past the id column's range: refused before any database sees it.
        ("2147483648", "less_than_equal"),
        ("99999999999999999999", "less_than_equal"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_ids_outside_the_column_range_are_422(
    client: AsyncClient, headers: Headers, method: str, item_id: str, error_type: str
) -> None:
    response = await client.request(method, f"{ITEMS}/{item_id}", json={}, headers=headers)
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert (error["type"], error["loc"]) == (error_type, ["path", "item_id"])
    assert error["input"] == item_id


async def test_bad_body_is_422_even_for_a_missing_item(
    client: AsyncClient, headers: Headers
) -> None:
    response = await client.patch(f"{ITEMS}/999999", json={"name": ""}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]


async def test_trailing_slash_is_not_redirected(client: AsyncClient, headers: Headers) -> None:
    for path in (f"{ITEMS}/", f"{ITEMS}/1/"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not Found"}


async def test_missing_item_is_404(client: AsyncClient, headers: Headers) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, f"{ITEMS}/2147483647", json={}, headers=headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "Item not found"}


async def test_delete(client: AsyncClient, headers: Headers) -> None:
    item = await create(client, ITEMS, headers, name="first")
    response = await client.delete(f"{ITEMS}/{item['id']}", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    gone = await client.get(f"{ITEMS}/{item['id']}", headers=headers)
    assert gone.status_code == 404


async def test_a_failed_request_is_rolled_back(
    app: FastAPI, client: AsyncClient, headers: Headers
) -> None:
    item = await create(client, ITEMS, headers, name="kept")

    @app.patch("/explode/{item_id}")
    async def explode(item_id: int, session: SessionDep) -> None:
        found = await session.get(Item, item_id)
        assert found is not None
        found.name = "changed"
        await session.flush()
        raise RuntimeError("after the write")

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as failing:
        assert (await failing.patch(f"/explode/{item['id']}")).status_code == 500
    again = await client.get(f"{ITEMS}/{item['id']}", headers=headers)
    assert again.json()["name"] == "kept"
{%- if cookiecutter.use_auth %}


async def test_items_need_a_token(client: AsyncClient) -> None:
    calls = [("GET", ITEMS), ("POST", ITEMS), ("GET", f"{ITEMS}/1"), ("DELETE", f"{ITEMS}/1")]
    for method, path in calls:
        response = await client.request(method, path)
        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
        assert response.headers["www-authenticate"] == "Bearer"


async def test_users_see_only_their_own_items(
    client: AsyncClient, headers: Headers, other_auth_headers: Headers
) -> None:
    mine = await create(client, ITEMS, headers, name="mine")
    theirs = await create(client, ITEMS, other_auth_headers, name="theirs")
    assert mine["owner_id"] != theirs["owner_id"]

    page = (await client.get(ITEMS, headers=headers)).json()
    assert [item["name"] for item in page["items"]] == ["mine"]
    assert page["total"] == 1

    url = f"{ITEMS}/{theirs['id']}"
    assert (await client.get(url, headers=headers)).status_code == 404
    assert (await client.patch(url, json={"name": "x"}, headers=headers)).status_code == 404
    assert (await client.delete(url, headers=headers)).status_code == 404
    still_there = await client.get(url, headers=other_auth_headers)
    assert still_there.json()["name"] == "theirs"
{%- endif %}
