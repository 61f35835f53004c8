from datetime import datetime
{%- if cookiecutter.use_auth %}
from typing import TYPE_CHECKING
{%- endif %}

from sqlalchemy import {% if cookiecutter.use_auth %}ForeignKey, {% endif %}Index, String
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column{% if cookiecutter.use_auth %}, relationship{% endif %}

from {{ cookiecutter.project_slug }}.db.base import Base
from {{ cookiecutter.project_slug }}.db.types import UTCDateTime, utcnow
{%- if cookiecutter.use_auth %}

if TYPE_CHECKING:
    from {{ cookiecutter.project_slug }}.db.models.user import User
{%- endif %}


def _created_at(context: DefaultExecutionContext) -> datetime:
    # The same clock reading as created_at, so a new row's updated_at equals it exactly.
    parameters = context.get_current_parameters()  # type: ignore[no-untyped-call]
    created: datetime = parameters["created_at"]
    return created


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        # Serves the list endpoint's newest-first order.
        Index("ix_items_created_at_id", "created_at", "id"),
{%- if cookiecutter.database == "sqlite" %}
        # SQLite would reuse the id of the last row deleted (a client's old link would then
        # show another row): AUTOINCREMENT never reuses one.
        {"sqlite_autoincrement": True},
{%- endif %}
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=_created_at, onupdate=utcnow
    )
{%- if cookiecutter.use_auth %}
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    owner: Mapped["User"] = relationship(back_populates="items")
{%- endif %}
