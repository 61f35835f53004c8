"""The framework alone: Flask answering the generated service's routes with fixed JSON,
no database, no token. What it costs is what Flask and its server cost on each route."""

from typing import Any

from flask import Flask, abort, request

app = Flask(__name__)

ITEM = {"id": 1, "name": "bench", "description": None, "created_at": "2026-01-01T00:00:00Z", "owner_id": 1}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "database": "ok"}


@app.get("/api/v1/items/<int:item_id>")
def read_item(item_id: int) -> dict[str, Any]:
    return {**ITEM, "id": item_id}


@app.get("/api/v1/items")
def list_items() -> dict[str, Any]:
    limit = request.args.get("limit", 20, type=int)
    return {"items": [ITEM] * limit, "total": limit, "limit": limit, "offset": 0}


@app.post("/api/v1/items")
def create_item() -> tuple[dict[str, Any], int]:
    payload = request.get_json()
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        abort(422)
    return {**ITEM, "name": payload["name"], "description": payload.get("description")}, 201
