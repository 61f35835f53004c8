"""A page of a list, the shape every list route answers: its rows and where they sit."""

from typing import Generic, TypeVar

from pydantic import BaseModel

Row = TypeVar("Row")


class Page(BaseModel, Generic[Row]):
    items: list[Row]
    total: int
    limit: int
    offset: int
