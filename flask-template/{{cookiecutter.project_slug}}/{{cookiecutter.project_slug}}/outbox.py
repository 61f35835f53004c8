"""The outbox: a job is a row written in the same transaction as the change that calls
for it, so it exists exactly when the change does, whether or not the broker is up.

After the commit the job is published (``tasks.publish_committed``); when the broker
cannot take it, the row waits for the worker's drain (``tasks.drain_outbox``). A row is
done when ``sent_at`` is set; ``attempts`` and ``last_error`` tell how it went. While a run
sends, the row is claimed by it until ``claimed_until``, with no transaction open: other
runs leave it alone, and a claim that ran out unsent (its worker was lost) is the drain's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import Base, db
from .models import UTCDateTime, utcnow

WELCOME_EMAIL = "welcome_email"
# session.info key: the rows this session added, to publish once they are committed.
PENDING = "outbox_pending"


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))


def add(kind: str, payload: dict[str, Any]) -> OutboxMessage:
    """A job in the current transaction: committed with it, or rolled back with it."""
    row = OutboxMessage(kind=kind, payload=payload)
    db.session.add(row)
    db.session.info.setdefault(PENDING, []).append(row)
    return row
