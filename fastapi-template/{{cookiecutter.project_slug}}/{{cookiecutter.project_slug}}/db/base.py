"""The declarative base every model inherits, with constraint names Alembic can rely on, and
relationships that load the way async SQLAlchemy can."""

from typing import Any

from sqlalchemy import MetaData, event, inspect
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase

# Named constraints make migrations reproducible across databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(AsyncAttrs, DeclarativeBase):
    """Async code cannot load a relationship the moment it is read (SQLAlchemy's default,
    lazy="select"): that needs I/O outside an await, and fails with MissingGreenlet. A
    relationship every answer shows is declared with lazy="selectin" (loaded with its rows, one
    more query per statement); any other is read with `await obj.awaitable_attrs.name`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# A new object's collections start empty rather than unloaded, so that reading one after the
# insert (a new item's tags in its answer) needs no query.
@event.listens_for(Base, "init", propagate=True)
def start_collections_empty(target: Base, args: Any, kwargs: dict[str, Any]) -> None:
    for relationship in inspect(type(target)).relationships:
        if relationship.uselist and relationship.key not in kwargs:
            setattr(target, relationship.key, [])
