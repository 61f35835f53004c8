"""The least FastAPI code that does the generated service's work, with the same drivers
(aiosqlite for SQLite, asyncpg for PostgreSQL): decode the bearer token, then one statement
per answer (two for a page: its rows and its total). No ORM, no middleware, no response
models: what it costs is what FastAPI and the driver cost for that work."""

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Query
from pydantic import BaseModel

URL = os.environ["DATABASE_URL"]
SECRET_KEY = os.environ["SECRET_KEY"]
SQLITE = URL.startswith("sqlite")
COLUMNS = "id, name, description, created_at, updated_at, owner_id"
# The generated service's settings for each SQLite connection (its db/sqlite.py).
SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"


class Database:
    """One aiosqlite connection (a thread of its own; one hop per statement) or an asyncpg pool."""

    sqlite: aiosqlite.Connection
    pool: asyncpg.Pool

    async def open(self) -> None:
        if SQLITE:
            self.sqlite = await aiosqlite.connect(URL.split(":///", 1)[1], isolation_level=None, timeout=30)
            self.sqlite.row_factory = aiosqlite.Row
            await self.sqlite.executescript(SQLITE_PRAGMAS)
        else:
            self.pool = await asyncpg.create_pool(URL, min_size=1, max_size=10)

    async def close(self) -> None:
        await (self.sqlite.close() if SQLITE else self.pool.close())

    async def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """``sql`` with asyncpg's $1, $2 placeholders (rewritten to ? for SQLite)."""
        if SQLITE:
            return [dict(row) for row in await self.sqlite.execute_fetchall(re.sub(r"\$\d+", "?", sql), args)]
        return [dict(row) for row in await self.pool.fetch(sql, *args)]


db = Database()


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    await db.open()
    yield
    await db.close()


app = FastAPI(lifespan=lifespan)


def owner(authorization: Annotated[str, Header()] = "") -> int:
    """The user id of a valid bearer token (HS256, the generated service's SECRET_KEY), or 401."""
    try:
        claims = jwt.decode(
            authorization.removeprefix("Bearer "),
            SECRET_KEY,
            algorithms=["HS256"],
            options={"require": ["exp", "iat", "sub"]},
        )
        return int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError):
        raise HTTPException(status_code=401, detail="Not authenticated") from None


Owner = Annotated[int, Depends(owner)]


class ItemCreate(BaseModel):
    name: str
    description: str | None = None


@app.get("/health")
async def health() -> dict[str, str]:
    await db.rows("SELECT 1")
    return {"status": "ok", "database": "ok"}


@app.get("/api/v1/items/{item_id}")
async def read_item(item_id: int, user_id: Owner) -> dict[str, Any]:
    found = await db.rows(f"SELECT {COLUMNS} FROM items WHERE id = $1 AND owner_id = $2", item_id, user_id)
    if not found:
        raise HTTPException(status_code=404, detail="Item not found")
    return found[0]


@app.get("/api/v1/items")
async def list_items(
    user_id: Owner, limit: Annotated[int, Query(ge=1, le=100)] = 20, offset: Annotated[int, Query(ge=0)] = 0
) -> dict[str, Any]:
    items = await db.rows(
        f"SELECT {COLUMNS} FROM items WHERE owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        user_id,
        limit,
        offset,
    )
    total = await db.rows("SELECT count(*) AS total FROM items WHERE owner_id = $1", user_id)
    return {"items": items, "total": total[0]["total"], "limit": limit, "offset": offset}


@app.post("/api/v1/items", status_code=201)
async def create_item(payload: ItemCreate, user_id: Owner) -> dict[str, Any]:
    now = datetime.now(UTC)
    # SQLite's column keeps naive UTC text, as SQLAlchemy writes it; PostgreSQL's is timestamptz.
    stamp: Any = now.replace(tzinfo=None).isoformat(" ") if SQLITE else now
    created = await db.rows(
        "INSERT INTO items (name, description, created_at, updated_at, owner_id) "
        f"VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}",
        payload.name,
        payload.description,
        stamp,
        stamp,
        user_id,
    )
    return created[0]
