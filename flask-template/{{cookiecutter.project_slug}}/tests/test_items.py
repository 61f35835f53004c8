from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import {% if cookiecutter.use_auth %}delete, {% endif %}event

from {{ cookiecutter.project_slug }}.extensions import db
{%- if cookiecutter.use_auth %}
from {{ cookiecutter.project_slug }}.models import User

from .helpers import AuthActions, create
{%- else %}

from .helpers import create
{%- endif %}

ITEMS = "/api/v1/items"
{%- if cookiecutter.use_auth %}


@pytest.fixture
def headers(auth: AuthActions) -> dict[str, str]:
    return auth.headers()
{%- else %}


@pytest.fixture
def headers() -> dict[str, str]:
    return {}
{%- endif %}


def test_create_and_read(client: FlaskClient, headers: dict[str, str]) -> None:
    item = create(client, ITEMS, headers, name="pen", description="blue")
    assert item["name"] == "pen"
    assert item["description"] == "blue"
    # The fields every item has: one a project adds (say, tags) does not break this.
    assert set(item) >= {"id", "name", "description", "created_at", "updated_at"{% if cookiecutter.use_auth %}, "owner_id"{% endif %}}
    assert item["created_at"].endswith("Z")
    assert datetime.fromisoformat(item["created_at"]).utcoffset() is not None
    assert item["updated_at"] == item["created_at"]

    response = client.get(f"{ITEMS}/{item['id']}", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == item


def test_description_is_optional(client: FlaskClient, headers: dict[str, str]) -> None:
    assert create(client, ITEMS, headers, name="thing")["description"] is None


def test_list_is_newest_first_and_paginated(client: FlaskClient, headers: dict[str, str]) -> None:
    ids = [create(client, ITEMS, headers, name=f"item {n}")["id"] for n in range(3)]

    response = client.get(ITEMS, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == ids[::-1]
    assert (body["total"], body["limit"], body["offset"]) == (3, 20, 0)

    page = client.get(f"{ITEMS}?limit=1&offset=1", headers=headers).get_json()
    assert [item["id"] for item in page["items"]] == [ids[1]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)


@pytest.mark.parametrize(
    ("query", "loc", "error_type"),
    [
        ("limit=0", ["query", "limit"], "greater_than_equal"),
        ("limit=101", ["query", "limit"], "less_than_equal"),
        ("limit=abc", ["query", "limit"], "int_parsing"),
        ("offset=-1", ["query", "offset"], "greater_than_equal"),
        ("offset=2147483648", ["query", "offset"], "less_than_equal"),
        ("offset=99999999999999999999", ["query", "offset"], "less_than_equal"),
    ],
)
def test_pagination_bounds(
    client: FlaskClient, headers: dict[str, str], query: str, loc: list[str], error_type: str
) -> None:
    response = client.get(f"{ITEMS}?{query}", headers=headers)
    assert response.status_code == 422
    [error] = response.get_json()["detail"]
    assert (error["loc"], error["type"]) == (loc, error_type)


def test_pagination_edges_are_allowed(client: FlaskClient, headers: dict[str, str]) -> None:
    assert client.get(f"{ITEMS}?limit=100&offset=0", headers=headers).status_code == 200
    assert client.get(f"{ITEMS}?limit=1&offset=5", headers=headers).get_json()["items"] == []
    assert client.get(f"{ITEMS}?offset=2147483647", headers=headers).get_json()["items"] == []


def test_update(client: FlaskClient, headers: dict[str, str]) -> None:
    item = create(client, ITEMS, headers, name="old", description="keep")
    response = client.patch(f"{ITEMS}/{item['id']}", json={"name": "new"}, headers=headers)
    assert response.status_code == 200
    updated = response.get_json()
    assert (updated["name"], updated["description"]) == ("new", "keep")
    assert updated["updated_at"] >= item["updated_at"]

    cleared = client.patch(
        f"{ITEMS}/{item['id']}", json={"description": None}, headers=headers
    ).get_json()
    assert cleared["description"] is None


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements sent meanwhile, but the tests' own SAVEPOINTs (see testdb.py)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "SAVEPOINT" not in statement:
            sent.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_reads_are_one_statement_each(
    app: Flask, client: FlaskClient, headers: dict[str, str]
) -> None:
    item = create(client, ITEMS, headers, name="thing")
    for path in (f"{ITEMS}/{item['id']}", ITEMS):
        with statements(app) as sent:
            assert client.get(path, headers=headers).status_code == 200
        # The items SELECT once, no BEGIN or ROLLBACK around it, no other query of the
        # template's (a table a project joins to items, say tags, may add its own SELECT).
        assert all(statement.startswith("SELECT") for statement in sent), sent
        reads = [statement for statement in sent if statement.startswith("SELECT items.id")]
        assert len(reads) == 1, sent
        assert not [statement for statement in sent if "FROM users" in statement], sent


def test_a_change_answers_what_it_wrote_without_reading_it_again(
    app: Flask, client: FlaskClient, headers: dict[str, str]
) -> None:
    item = create(client, ITEMS, headers, name="thing")
    with statements(app) as sent:
        response = client.patch(f"{ITEMS}/{item['id']}", json={"name": "new"}, headers=headers)
    assert response.get_json()["name"] == "new"
    selects = [statement for statement in sent if statement.startswith("SELECT items.id")]
    assert len(selects) == 1, sent  # the locking read; none after the commit


def test_update_checks_the_path_first(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.patch(f"{ITEMS}/abc", json={"name": None}, headers=headers)
    assert response.status_code == 422
    assert [error["loc"] for error in response.get_json()["detail"]] == [["path", "item_id"]]


@pytest.mark.parametrize("field", ["name", "description"])
def test_update_refuses_the_nul_character(
    client: FlaskClient, headers: dict[str, str], field: str
) -> None:
    item = create(client, ITEMS, headers, name="thing")
    response = client.patch(f"{ITEMS}/{item['id']}", json={field: "a\x00b"}, headers=headers)
    assert response.status_code == 422
    [error] = response.get_json()["detail"]
    assert (error["loc"], error["type"]) == (["body", field], "string_pattern_mismatch")
    assert error["ctx"] == {"pattern": r"^[^\x00]*$"}


def test_trailing_slash_is_another_route(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get(f"{ITEMS}/", headers=headers)
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Not Found"}


def test_update_refuses_a_null_name(client: FlaskClient, headers: dict[str, str]) -> None:
    item = create(client, ITEMS, headers, name="thing")
    response = client.patch(f"{ITEMS}/{item['id']}", json={"name": None}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body", "name"]


def test_delete(client: FlaskClient, headers: dict[str, str]) -> None:
    item = create(client, ITEMS, headers, name="thing")
    response = client.delete(f"{ITEMS}/{item['id']}", headers=headers)
    assert response.status_code == 204
    assert response.data == b""
    assert client.get(f"{ITEMS}/{item['id']}", headers=headers).status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_missing_item(client: FlaskClient, headers: dict[str, str], method: str) -> None:
    response = getattr(client, method)(f"{ITEMS}/999999", json={}, headers=headers)
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Item not found"}


def test_item_id_must_be_an_integer(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get(f"{ITEMS}/abc", headers=headers)
    assert response.status_code == 422
    assert response.get_json()["detail"] == [
        {
            "type": "int_parsing",
            "loc": ["path", "item_id"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "abc",
        }
    ]


@pytest.mark.parametrize(
    ("item_id", "error_type"),
    [
        ("0", "greater_than_equal"),
        ("-1", "greater_than_equal"),
        ("2147483648", "less_than_equal"),
        ("99999999999999999999", "less_than_equal"),
    ],
)
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_item_id_stays_in_the_column_range(
    client: FlaskClient, headers: dict[str, str], method: str, item_id: str, error_type: str
) -> None:
    response = getattr(client, method)(f"{ITEMS}/{item_id}", json={}, headers=headers)
    assert response.status_code == 422
    [error] = response.get_json()["detail"]
    assert (error["loc"], error["type"], error["input"]) == (
        ["path", "item_id"],
        error_type,
        item_id,
    )


def test_largest_item_id_is_just_missing(client: FlaskClient, headers: dict[str, str]) -> None:
    assert client.get(f"{ITEMS}/2147483647", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("payload", "loc", "error_type"),
    [
        ({"name": "nul\x00byte"}, ["body", "name"], "string_pattern_mismatch"),
        ({"name": "a\ud800"}, ["body", "name"], "string_unicode"),
        ({"name": "x", "description": "\x00"}, ["body", "description"], "string_pattern_mismatch"),
        ({}, ["body", "name"], "missing"),
        ({"name": ""}, ["body", "name"], "string_too_short"),
        ({"name": "x" * 101}, ["body", "name"], "string_too_long"),
        ({"name": "x", "description": "x" * 1001}, ["body", "description"], "string_too_long"),
        ({"name": 5}, ["body", "name"], "string_type"),
        ({"name": "x", "colour": "red"}, ["body", "colour"], "extra_forbidden"),
        ([1, 2], ["body"], "model_attributes_type"),
    ],
)
def test_invalid_bodies(
    client: FlaskClient, headers: dict[str, str], payload: Any, loc: list[str], error_type: str
) -> None:
    response = client.post(ITEMS, json=payload, headers=headers)
    assert response.status_code == 422
    [error] = response.get_json()["detail"]
    assert (error["loc"], error["type"]) == (loc, error_type)
    assert set(error) <= {"type", "loc", "msg", "input", "ctx"}


def test_malformed_json(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.post(
        ITEMS, data='{"name": ', headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.get_json()["detail"] == [
        {
            "type": "json_invalid",
            "loc": ["body", 9],
            "msg": "JSON decode error",
            "ctx": {"error": "Expecting value"},
        }
    ]


def test_undecodable_body(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.post(
        ITEMS, data=b'{"name": "\xff"}', headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json() == {"detail": "There was an error parsing the body"}


def test_wrong_content_type(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.post(
        ITEMS, data='{"name": "x"}', headers={**headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 422
    [error] = response.get_json()["detail"]
    assert (error["type"], error["loc"], error["input"]) == (
        "model_attributes_type",
        ["body"],
        '{"name": "x"}',
    )


@pytest.mark.parametrize("body", [b"", b"null"])
def test_missing_body(client: FlaskClient, headers: dict[str, str], body: bytes) -> None:
    response = client.post(
        ITEMS, data=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.get_json()["detail"] == [
        {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
    ]


def test_wrong_method(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.put(ITEMS, json={"name": "x"}, headers=headers)
    assert response.status_code == 405
    assert response.get_json() == {"detail": "Method Not Allowed"}
{%- if cookiecutter.use_auth %}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ITEMS),
        ("post", ITEMS),
        ("get", f"{ITEMS}/1"),
        ("patch", f"{ITEMS}/1"),
        ("delete", f"{ITEMS}/1"),
    ],
)
def test_items_need_a_token(client: FlaskClient, method: str, path: str) -> None:
    response = getattr(client, method)(path, json={"name": "x"})
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_malformed_json_is_reported_before_credentials(client: FlaskClient) -> None:
    response = client.post(ITEMS, data="{", headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_users_see_only_their_own_items(
    client: FlaskClient, auth: AuthActions, headers: dict[str, str]
) -> None:
    mine = create(client, ITEMS, headers, name="mine")
    other = auth.headers("grace@example.com", "another password")
    theirs = create(client, ITEMS, other, name="theirs")
    assert theirs["owner_id"] != mine["owner_id"]

    listed = client.get(ITEMS, headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [mine["id"]]
    assert listed["total"] == 1

    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(
            f"{ITEMS}/{theirs['id']}", json={"name": "stolen"}, headers=headers
        )
        assert response.status_code == 404
        assert response.get_json() == {"detail": "Item not found"}
    assert client.get(f"{ITEMS}/{theirs['id']}", headers=other).get_json()["name"] == "theirs"


def test_a_deleted_users_token_is_refused(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    headers = auth.headers()
    item = create(client, ITEMS, headers, name="thing")
    with app.app_context():
        db.session.execute(delete(User))
        db.session.commit()
    for method, path in [
        ("GET", f"{ITEMS}/{item['id']}"),
        ("GET", ITEMS),
        ("POST", ITEMS),
        ("PATCH", f"{ITEMS}/{item['id']}"),
        ("DELETE", f"{ITEMS}/{item['id']}"),
        ("GET", "/api/v1/users/me"),
    ]:
        body = {"name": "x"} if method in ("POST", "PATCH") else None
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 401, (method, path, response.get_json())
        assert response.get_json() == {"detail": "Could not validate credentials"}
        assert response.headers["WWW-Authenticate"] == "Bearer"
{%- endif %}
