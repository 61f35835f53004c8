from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from {{ cookiecutter.project_slug }}.db.base import Base
from {{ cookiecutter.project_slug }}.db.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from {{ cookiecutter.project_slug }}.db.models.item import Item


class User(Base):
    __tablename__ = "users"
{%- if cookiecutter.database == "sqlite" %}
    # SQLite would reuse the id of the last row deleted (an old token's `sub` would then name
    # another user): AUTOINCREMENT never reuses one.
    __table_args__ = ({"sqlite_autoincrement": True},)
{%- endif %}

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lowercased, so the unique index compares emails case-insensitively.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list["Item"]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", passive_deletes=True
    )
