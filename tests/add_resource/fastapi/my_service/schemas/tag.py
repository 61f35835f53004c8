from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from my_service.db.types import MAX_ID
from my_service.schemas.page import Page

TagName = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^\x00]*$")]


class TagCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TagName


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime


class TagPage(Page[TagRead]):
    """By name."""


class ItemTags(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(max_length=100)
