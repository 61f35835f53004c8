from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from {{ cookiecutter.project_slug }}.schemas.page import Page

# Not every database can store the NUL character in text: refuse it on all of them alike.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]
Description = Annotated[str | None, Field(max_length=1000, pattern=NO_NUL)]


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = None


class ItemUpdate(BaseModel):
    """Only the fields sent are changed; `name` may be left out but never set to null."""

    model_config = ConfigDict(extra="forbid")

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


class ItemPage(Page[ItemRead]):
    """Newest first."""
