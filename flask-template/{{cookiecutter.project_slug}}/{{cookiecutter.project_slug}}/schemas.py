"""The JSON shapes of the items API, and the query and path parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

# The largest id and offset the INTEGER column (and the SQL OFFSET) take on every database.
MAX_ID = 2_147_483_647
# Not every database can store the NUL character in text: refuse it on all of them alike.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]
Description = Annotated[str | None, Field(max_length=1000, pattern=NO_NUL)]

# from_attributes: a body that is not an object is a `model_attributes_type` error (docs/api.md).
INPUT = ConfigDict(extra="forbid", from_attributes=True)
Row = TypeVar("Row")


class ItemCreate(BaseModel):
    model_config = INPUT

    name: Name
    description: Description = None


class ItemUpdate(BaseModel):
    """Only the fields sent are changed; `name` may be left out but never set to null."""

    model_config = INPUT

    # The None default is not validated, an explicit null is (and refused as not a string).
    name: Name = None  # type: ignore[assignment]
    description: Description = None


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
{%- if cookiecutter.use_auth %}
    owner_id: int
{%- endif %}


class Page(BaseModel, Generic[Row]):
    """A page of a list, the shape every list route answers: its rows and where they sit."""

    items: list[Row]
    total: int
    limit: int
    offset: int


class ItemPage(Page[ItemRead]):
    """Newest first."""


class Pagination(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class ItemPath(BaseModel):
    item_id: int = Field(ge=1, le=MAX_ID)
