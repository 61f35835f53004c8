"""The framework alone: FastAPI answering the generated service's routes with fixed JSON,
no database, no token. What it costs is what FastAPI and its server cost on each route."""

from typing import Annotated

from fastapi import FastAPI, Query
from pydantic import BaseModel

app = FastAPI()

ITEM = {"id": 1, "name": "bench", "description": None, "created_at": "2026-01-01T00:00:00Z", "owner_id": 1}


class ItemCreate(BaseModel):
    name: str
    description: str | None = None


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "database": "ok"}


@app.get("/api/v1/items/{item_id}")
async def read_item(item_id: int) -> dict[str, object]:
    return {**ITEM, "id": item_id}


@app.get("/api/v1/items")
async def list_items(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, object]:
    return {"items": [ITEM] * limit, "total": limit, "limit": limit, "offset": 0}


@app.post("/api/v1/items", status_code=201)
async def create_item(payload: ItemCreate) -> dict[str, object]:
    return {**ITEM, **payload.model_dump()}
