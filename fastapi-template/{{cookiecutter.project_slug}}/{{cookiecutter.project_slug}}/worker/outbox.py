"""The worker's side of the outbox: send one row, and find the rows whose job was lost.

Celery delivers a message at least once, and a drained row may already have a message on
its way: sending is idempotent. An attempt has three steps, and holds no lock and no
connection while it talks to the mail server:

- claim: a short transaction locks the row (SELECT ... FOR UPDATE, or the database's write
  lock where rows cannot be locked: the session says it writes, see db/), counts the
  attempt and sets `claimed_until`, then commits;
- send: the email goes out, outside any transaction;
- record: a short transaction stamps `sent_at` (or `last_error`) and clears the claim.

A second run of the same job finds `sent_at` set, or an active claim, and does nothing. A
claim that expired with the row unsent means its worker was lost: the drain publishes the
row again.
"""

import asyncio
import random
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.db.models import OutboxMessage
from {{ cookiecutter.project_slug }}.db.models.outbox import WELCOME_EMAIL
from {{ cookiecutter.project_slug }}.db.types import utcnow
from {{ cookiecutter.project_slug }}.worker.mail import send_message, welcome_message

# After this many attempts a row is left alone, with its last error, for an operator.
MAX_ATTEMPTS = 10
RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 600.0
# A row this young is its request's own job, still on its way: the drain leaves it alone.
DRAIN_GRACE = timedelta(seconds=5)
DRAIN_BATCH = 500


class DeliveryFailed(Exception):
    """An attempt failed and was recorded in the row; `attempts` counts them all."""

    def __init__(self, outbox_id: int, attempts: int, error: Exception) -> None:
        super().__init__(f"outbox {outbox_id}: attempt {attempts} failed: {describe(error)}")
        self.attempts = attempts


def describe(error: Exception) -> str:
    text = str(error) or error.__class__.__name__
    return f"{error.__class__.__name__}: {text}"[:1000]


def retry_ceiling(attempts: int) -> float:
    """The longest wait after the `attempts`-th failed attempt: doubling, capped."""
    return float(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempts - 1)))


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt: exponential backoff with jitter in its upper half.

    Full jitter (anywhere from 0 to the ceiling, Celery's `retry_jitter`) may wait less than
    the time before; this always waits at least the previous ceiling, and still spreads
    a crowd of failed jobs over a window as wide as that ceiling.
    """
    ceiling = retry_ceiling(attempts)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - spreading, not secrecy


def claim_duration(settings: Settings) -> timedelta:
    """How long a claim keeps other runs of the job away while its worker sends the email.

    smtplib's timeout (SMTP_TIMEOUT) bounds each socket operation, and a send makes
    several (connect, greeting, STARTTLS, login, each command, the data): hence a multiple
    of it, and at least a minute. If a claim expires while its send is still going, a
    second run may send the email again: delivery is at least once, as it already is for a
    worker lost between sending and recording.
    """
    return timedelta(seconds=max(60.0, 6 * settings.smtp_timeout))


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, outbox_id: int
) -> tuple[EmailMessage, int] | None:
    """Claim the row for one attempt: its message and attempt number, or None to do nothing.

    Nothing to do when the row is gone, sent, given up, or claimed by a run whose claim
    has not expired (that run records its own outcome, and retries its own failure).
    """
    async with sessionmaker(execution_options={"writes": True}) as session, session.begin():
        row = await session.get(OutboxMessage, outbox_id, with_for_update=True)
        now = utcnow()
        if row is None or row.sent_at is not None or row.attempts >= MAX_ATTEMPTS:
            return None
        if row.claimed_until is not None and row.claimed_until > now:
            return None
        row.attempts += 1
        row.claimed_until = now + claim_duration(settings)
        return welcome_message(row, settings), row.attempts


async def record(
    sessionmaker: async_sessionmaker[AsyncSession], outbox_id: int, error: Exception | None
) -> None:
    """Record an attempt's outcome (no error: sent) and end its claim."""
    async with sessionmaker(execution_options={"writes": True}) as session, session.begin():
        row = await session.get(OutboxMessage, outbox_id, with_for_update=True)
        if row is None:
            return
        if error is None:
            row.sent_at = utcnow()
        else:
            row.last_error = describe(error)
        row.claimed_until = None


async def deliver_welcome_email(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, outbox_id: int
) -> bool:
    """Send the row's welcome email unless it was sent already; True when this call sent it.

    A failure is counted in the row, committed, then raised as DeliveryFailed.
    """
    claimed = await claim(sessionmaker, settings, outbox_id)
    if claimed is None:
        return False
    message, attempts = claimed
    # No transaction is open and no connection is held while the mail server answers.
    try:
        await asyncio.to_thread(send_message, message, settings)
    except (smtplib.SMTPException, OSError) as error:
        await record(sessionmaker, outbox_id, error)
        raise DeliveryFailed(outbox_id, attempts, error) from error
    await record(sessionmaker, outbox_id, None)
    return True


def overdue(row: OutboxMessage, now: datetime, settings: Settings) -> bool:
    """True when the row's job should have made its next attempt by now, at the latest.

    A claimed row is overdue once its claim has expired unsent: the worker that claimed it
    was lost. Otherwise, a row with n failed attempts had its retries scheduled within the
    sum of the first n ceilings (plus each attempt's own time); past that its job is taken
    for lost (the broker was down, or lost its queue) and is published again.
    """
    if row.claimed_until is not None:
        return row.claimed_until <= now
    waits = sum(retry_ceiling(n) + settings.smtp_timeout for n in range(1, row.attempts + 1))
    return row.created_at + DRAIN_GRACE + timedelta(seconds=waits) <= now


async def overdue_rows(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> list[int]:
    """The unsent rows whose job is overdue, oldest first: the drain publishes them again."""
    now = utcnow()
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.kind == WELCOME_EMAIL,
                OutboxMessage.attempts < MAX_ATTEMPTS,
                OutboxMessage.created_at <= now - DRAIN_GRACE,
                # Not a row another worker is sending right now.
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
            )
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(DRAIN_BATCH)
        )
        return [row.id for row in rows if overdue(row, now, settings)]
