"""The least Flask code that does the generated service's work, with the same drivers
(sqlite3 for SQLite, psycopg for PostgreSQL): decode the bearer token, then one statement
per answer (two for a page: its rows and its total). No ORM, no middleware, no schemas:
what it costs is what Flask and the driver cost for that work."""

import os
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

import jwt
import psycopg
from flask import Flask, abort, request
from psycopg.rows import dict_row

URL = os.environ["DATABASE_URL"]
SECRET_KEY = os.environ["SECRET_KEY"]
SQLITE = URL.startswith("sqlite")
COLUMNS = "id, name, description, created_at, updated_at, owner_id"
# The generated service's settings for each SQLite connection (its sqlite.py).
SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"

app = Flask(__name__)
# One connection per server thread, opened on its first request and kept (no pool library).
local = threading.local()


def rows(sql: str, *args: Any) -> list[dict[str, Any]]:
    """``sql`` with psycopg's %s placeholders (rewritten to ? for SQLite), autocommitted."""
    connection = getattr(local, "connection", None)
    if connection is None:
        if SQLITE:
            connection = sqlite3.connect(URL.split(":///", 1)[1], isolation_level=None, timeout=30)
            connection.row_factory = sqlite3.Row
            connection.executescript(SQLITE_PRAGMAS)
        else:
            connection = psycopg.connect(URL, autocommit=True, row_factory=dict_row)
        local.connection = connection
    if SQLITE:
        return [dict(row) for row in connection.execute(sql.replace("%s", "?"), args).fetchall()]
    return list(connection.execute(sql, args).fetchall())


def owner() -> int:
    """The user id of a valid bearer token (HS256, the generated service's SECRET_KEY), or 401."""
    try:
        claims = jwt.decode(
            request.headers.get("Authorization", "").removeprefix("Bearer "),
            SECRET_KEY,
            algorithms=["HS256"],
            options={"require": ["exp", "iat", "sub"]},
        )
        return int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError):
        abort(401)


@app.get("/health")
def health() -> dict[str, str]:
    rows("SELECT 1")
    return {"status": "ok", "database": "ok"}


@app.get("/api/v1/items/<int:item_id>")
def read_item(item_id: int) -> dict[str, Any]:
    found = rows(f"SELECT {COLUMNS} FROM items WHERE id = %s AND owner_id = %s", item_id, owner())
    if not found:
        abort(404)
    return found[0]


@app.get("/api/v1/items")
def list_items() -> dict[str, Any]:
    user_id = owner()
    limit = request.args.get("limit", 20, type=int)
    offset = request.args.get("offset", 0, type=int)
    items = rows(
        f"SELECT {COLUMNS} FROM items WHERE owner_id = %s ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
        user_id,
        limit,
        offset,
    )
    total = rows("SELECT count(*) AS total FROM items WHERE owner_id = %s", user_id)
    return {"items": items, "total": total[0]["total"], "limit": limit, "offset": offset}


@app.post("/api/v1/items")
def create_item() -> tuple[dict[str, Any], int]:
    user_id = owner()
    payload = request.get_json()
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        abort(422)
    now = datetime.now(UTC)
    # SQLite's column keeps naive UTC text, as SQLAlchemy writes it; PostgreSQL's is timestamptz.
    stamp: Any = now.replace(tzinfo=None).isoformat(" ") if SQLITE else now
    created = rows(
        "INSERT INTO items (name, description, created_at, updated_at, owner_id) "
        f"VALUES (%s, %s, %s, %s, %s) RETURNING {COLUMNS}",
        payload["name"],
        payload.get("description"),
        stamp,
        stamp,
        user_id,
    )
    return created[0], 201
