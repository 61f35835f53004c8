"""The outbox: jobs written in the same transaction as the change that calls for them.

A job published to the broker straight from a request is lost when the broker is down, and
one published before the commit may run against a row that was rolled back. A row here is
committed with the user (or not at all); the worker claims it, sends it and stamps `sent_at`.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from {{ cookiecutter.project_slug }}.db.base import Base
from {{ cookiecutter.project_slug }}.db.types import UTCDateTime, utcnow

WELCOME_EMAIL = "welcome_email"


class OutboxMessage(Base):
    __tablename__ = "outbox"
    # Serves the drain's "unsent, oldest first" query.
    __table_args__ = (Index("ix_outbox_sent_at_created_at", "sent_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Set while a worker sends the row's email, outside any transaction; a claim that
    # expired with the row unsent means that worker was lost (see worker/outbox.py).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Attempts that ended in an error, and the last error: what an operator looks at.
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
