"""The side-by-side comparison in test_contract_http.py tells services apart
when they differ, and only then."""

from __future__ import annotations

from typing import Any

from tests.contract import Exchange, comparable, shape


def exchange(status: int, body: Any, challenge: str | None = None) -> Exchange:
    return Exchange("call", status, body, challenge)


ITEM = {"id": 1, "name": "a", "description": None, "created_at": "2026-01-01T00:00:00Z"}


def test_same_shape_with_other_data_is_the_same() -> None:
    other = {"id": 7, "name": "b", "description": None, "created_at": "2026-02-02T00:00:00Z"}
    assert comparable(exchange(200, ITEM)) == comparable(exchange(200, other))


def test_a_missing_key_a_type_or_a_status_differs() -> None:
    assert comparable(exchange(200, ITEM)) != comparable(exchange(200, {k: v for k, v in ITEM.items() if k != "id"}))
    assert comparable(exchange(200, ITEM)) != comparable(exchange(200, {**ITEM, "id": "1"}))
    assert comparable(exchange(200, ITEM)) != comparable(exchange(201, ITEM))


def test_error_messages_and_challenges_must_match() -> None:
    refused = exchange(401, {"detail": "Not authenticated"}, "Bearer")
    assert comparable(refused) == comparable(exchange(401, {"detail": "Not authenticated"}, "Bearer"))
    assert comparable(refused) != comparable(exchange(401, {"detail": "Unauthorized"}, "Bearer"))
    assert comparable(refused) != comparable(exchange(401, {"detail": "Not authenticated"}))


def test_invalid_input_compares_locations_and_types_not_wording() -> None:
    error = {"loc": ["body", "name"], "msg": "String should have at least 1 character", "type": "string_too_short"}
    reworded = {**error, "msg": "too short"}
    assert comparable(exchange(422, {"detail": [error]})) == comparable(exchange(422, {"detail": [reworded]}))
    assert comparable(exchange(422, {"detail": [error]})) != comparable(
        exchange(422, {"detail": [{**error, "loc": ["query", "name"]}]})
    )
    assert comparable(exchange(422, {"detail": [error]})) != comparable(
        exchange(422, {"detail": [{**error, "type": "missing"}]})
    )


def test_shape_keeps_keys_and_types_only() -> None:
    assert shape({"items": [ITEM], "total": 1}) == {
        "items": [{"id": "int", "name": "str", "description": "NoneType", "created_at": "str"}],
        "total": "int",
    }
