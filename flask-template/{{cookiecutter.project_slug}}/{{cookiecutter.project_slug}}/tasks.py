"""The background jobs, run by the worker inside the app's context (see jobs.py).

Every job may run more than once (published after the commit and again by the drain, or
redelivered after a worker was lost), so each one is idempotent: in a short transaction it
claims its outbox row for a while, and does nothing when the row is done or claimed by
another run; it sends with no transaction open, then marks the row done and unclaimed in a
second short transaction."""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from celery import Task, shared_task
from sqlalchemy import and_, event, inspect, or_, select, update
from sqlalchemy.exc import OperationalError as DatabaseError
from sqlalchemy.orm import Session

from . import mail
from .config import Settings, current_settings
from .extensions import db
from .models import utcnow
from .outbox import PENDING, WELCOME_EMAIL, OutboxMessage

logger = logging.getLogger(__name__)

# Retries of a failed delivery: about 2, 4, 8, ... seconds apart, at most 10 minutes;
# eight retries span about nine minutes (and a mail server's restart, say).
MAX_RETRIES = 8
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 600.0
# The drain leaves younger rows alone: their jobs were published a moment ago.
DRAIN_GRACE = timedelta(seconds=5)
DRAIN_BATCH = 500


def retry_delay(retries: int) -> float:
    """Seconds to wait before retry ``retries + 1``: exponential backoff, plus up to half
    as much again at random so that jobs that failed together do not return together.
    Unlike Celery's own backoff ("full jitter", anywhere from 0), the wait never drops
    below the doubling: a mail server that refused gets the rest it asked for."""
    delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2.0**retries)
    return delay + random.uniform(0, delay / 2)  # noqa: S311 (spreading retries, not a secret)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def send_welcome_email(self: Task[[int], bool], outbox_id: int) -> bool:
    """Send the welcome email of outbox row ``outbox_id``; True when this run sent it.

    Retried with backoff after a failure that may pass (the mail server refusing for now,
    unreachable, or the database away); a permanent refusal (5xx) is not retried."""
    try:
        return deliver_welcome_email(outbox_id)
    except (OSError, DatabaseError) as error:
        if mail.is_permanent(error) or self.request.retries >= MAX_RETRIES:
            logger.error("welcome email of outbox row %d given up: %s", outbox_id, error)
            raise
        countdown = retry_delay(self.request.retries)
        logger.warning(
            "welcome email of outbox row %d failed (%s): retry in %.1f s",
            outbox_id,
            error,
            countdown,
        )
        raise self.retry(exc=error, countdown=countdown) from None


def claim_duration(settings: Settings) -> timedelta:
    """How long a run owns the row it claimed: longer than a send can take. smtplib's
    timeout (SMTP_TIMEOUT) bounds each socket operation, and a send makes several (connect,
    greeting, STARTTLS, login, each command, the message), hence the factor. Should a claim
    still expire during a send, a second run may send again: delivery is at least once, as
    it already is for a worker lost between the send and the commit that records it."""
    return timedelta(seconds=max(60.0, 6 * settings.smtp_timeout))


def deliver_welcome_email(outbox_id: int) -> bool:
    """Send the welcome email of outbox row ``outbox_id`` unless it is sent already or
    another run has it; True when this run sent it. A failure to send is recorded in the
    row and raised."""
    settings = current_settings()
    message = claim(outbox_id, settings)
    if message is None:
        return False
    # No transaction is open and the session holds no connection while the mail server
    # takes its time: other writes go on, whatever the database locks.
    try:
        mail.send(message, settings)
    except OSError as error:
        record(outbox_id, f"{type(error).__name__}: {error}"[:1000])
        raise
    record(outbox_id, None)
    logger.info("welcome email of outbox row %d sent", outbox_id)
    return True


def claim(outbox_id: int, settings: Settings) -> EmailMessage | None:
    """The row's message, once this run has claimed the row (``claimed_until``) and counted
    the attempt, in a short transaction of its own; None when the row is missing, sent, or
    claimed by a run whose claim has not run out. A run of this job that meets the row
    while this one claims it skips it (SKIP LOCKED) or, on a database that locks whole
    files rather than rows, waits for the write lock (`writes`) and then finds the claim."""
    db.session.connection(execution_options={"writes": True})
    row = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    now = utcnow()
    claimed = row is not None and row.claimed_until is not None and row.claimed_until > now
    if row is None or row.sent_at is not None or claimed:
        db.session.rollback()
        return None
    message = mail.welcome_message(row.id, row.payload["email"], settings)
    row.attempts += 1
    row.claimed_until = now + claim_duration(settings)
    db.session.commit()
    return message


def record(outbox_id: int, error: str | None) -> None:
    """How the claimed run's send went, in a short transaction: sent (no ``error``) or
    failed (the row then waits for its retry); either way the claim ends."""
    values: dict[str, Any] = {"last_error": error, "claimed_until": None}
    if error is None:
        values["sent_at"] = utcnow()
    db.session.connection(execution_options={"writes": True})
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


@shared_task
def drain_outbox() -> int:
    """Publish the job of every row not yet done that is waiting for no run: never tried
    and older than a few seconds (its publishing failed after the commit: the broker was
    down), or claimed by a run whose claim ran out before the row was sent (its worker was
    lost). Rows tried and unclaimed belong to their retries; a row given up keeps its last
    error. Returns how many jobs were published."""
    now = utcnow()
    waiting = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.kind)
        .where(
            OutboxMessage.sent_at.is_(None),
            or_(
                and_(OutboxMessage.attempts == 0, OutboxMessage.created_at < now - DRAIN_GRACE),
                and_(OutboxMessage.claimed_until.is_not(None), OutboxMessage.claimed_until < now),
            ),
        )
        .order_by(OutboxMessage.id)
        .limit(DRAIN_BATCH)
    ).all()
    db.session.rollback()
    published = sum(publish(outbox_id, kind) for outbox_id, kind in waiting)
    if waiting:
        logger.info("outbox drain: %d of %d waiting jobs published", published, len(waiting))
    return published


TASK_OF_KIND: dict[str, Task[[int], bool]] = {WELCOME_EMAIL: send_welcome_email}


def publish(outbox_id: int, kind: str) -> bool:
    """Queue the job of one outbox row. When the broker cannot take it: one log line,
    False, and the row waits for the drain. Never raises: the change is committed."""
    started = time.perf_counter()
    try:
        TASK_OF_KIND[kind].apply_async(args=(outbox_id,))
    except Exception as error:  # whatever the transport raises, the request must succeed
        logger.warning(
            "broker unavailable (gave up after %.0f ms), outbox row %d left for the drain: %s: %s",
            (time.perf_counter() - started) * 1000,
            outbox_id,
            type(error).__name__,
            error,
        )
        return False
    return True


@event.listens_for(Session, "after_commit")
def publish_committed(session: Session) -> None:
    """Publish the rows ``outbox.add`` put in the transaction that just committed. A row
    whose transaction was rolled back is no longer persistent, and never published."""
    for row in session.info.pop(PENDING, []):
        if inspect(row).persistent:
            publish(row.id, row.kind)
