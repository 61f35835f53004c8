"""Database tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Dialect, {% if cookiecutter.use_auth %}ForeignKey, {% endif %}String, TypeDecorator
from sqlalchemy.orm import Mapped, mapped_column{% if cookiecutter.use_auth %}, relationship{% endif %}

# Models subclass the declarative base itself rather than ``db.Model``, so that mypy
# sees real classes; Flask-SQLAlchemy shares this base's metadata.
from .extensions import Base
from .{{ cookiecutter.database }} import KEEPS_OFFSET, TIMESTAMP


def utcnow() -> datetime:
    return datetime.now(UTC)


def same_as_created(context: Any) -> datetime:
    """A new row's updated_at equals its created_at."""
    created: datetime = context.get_current_parameters()["created_at"]
    return created


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = TIMESTAMP
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc if KEEPS_OFFSET else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # A column without an offset hands back naive values, written in UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
{%- if cookiecutter.use_auth %}


class User(Base):
    __tablename__ = "users"
{%- if cookiecutter.database == "sqlite" %}
    # SQLite would reuse the id of the last row deleted (an old token's `sub` would then name
    # another user): AUTOINCREMENT never reuses one.
    __table_args__ = ({"sqlite_autoincrement": True},)
{%- endif %}

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list[Item]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", passive_deletes=True
    )
{%- endif %}


class Item(Base):
    __tablename__ = "items"
{%- if cookiecutter.database == "sqlite" %}
    # SQLite would reuse the id of the last row deleted (a client's old link would then show
    # another row): AUTOINCREMENT never reuses one.
    __table_args__ = ({"sqlite_autoincrement": True},)
{%- endif %}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=same_as_created, onupdate=utcnow
    )
{%- if cookiecutter.use_auth %}
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    owner: Mapped[User] = relationship(back_populates="items")
{%- endif %}
