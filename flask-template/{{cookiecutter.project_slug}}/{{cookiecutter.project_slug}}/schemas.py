"""The JSON shapes of the items API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

# The largest id and offset the database's INTEGER column (and the SQL OFFSET) take on every backend.
MAX_INT = 2147483647
# NUL is refused whatever the database, since not every database can store it in text.
NO_NUL = r"^[^\x00]*$"


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    description: str | None = Field(default=None, max_length=1000, pattern=NO_NUL)


def _no_default(schema: dict[str, JsonValue]) -> None:
    # The None default only marks "not sent"; it is not a value a client may send.
    schema.pop("default", None)


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Left out means "unchanged"; an explicit null is refused, since an item needs a name.
    name: Annotated[
        str, Field(default=None, min_length=1, max_length=100, pattern=NO_NUL, json_schema_extra=_no_default)
    ]
    description: str | None = Field(default=None, max_length=1000, pattern=NO_NUL)


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
{%- if cookiecutter.use_auth %}
    owner_id: int
{%- endif %}


class ItemPage(BaseModel):
    items: list[ItemOut]
    total: int
    limit: int
    offset: int


class Pagination(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_INT)


class ItemPath(BaseModel):
    item_id: int = Field(ge=1, le=MAX_INT)
