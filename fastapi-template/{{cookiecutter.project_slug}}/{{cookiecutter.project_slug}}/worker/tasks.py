"""The Celery tasks: thin synchronous shells around the async work in worker/outbox.py.

Each task runs its database work in `asyncio.run`, on an engine of its own without a pool
(NullPool), disposed when the task ends: a forked worker process inherits no connection
and no event loop, and an async driver binds each connection to the loop that opened it.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from celery import Task
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from {{ cookiecutter.project_slug }}.core.config import Settings, get_settings
from {{ cookiecutter.project_slug }}.db.session import create_engine, create_sessionmaker
from {{ cookiecutter.project_slug }}.worker import outbox
from {{ cookiecutter.project_slug }}.worker.app import DRAIN_OUTBOX, SEND_WELCOME_EMAIL, celery_app

logger = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[async_sessionmaker[AsyncSession], Settings], Awaitable[T]]


def task_settings() -> Settings:
    """The worker's settings (the tests substitute theirs)."""
    return get_settings()


@asynccontextmanager
async def task_database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(
        settings.async_database_url, timeout=settings.database_timeout, poolclass=NullPool
    )
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def run_with_database(work: Work[T]) -> T:
    settings = task_settings()

    async def main() -> T:
        async with task_database(settings) as sessionmaker:
            return await work(sessionmaker, settings)

    return asyncio.run(main())


# No Celery max_retries: the row's attempts (outbox.MAX_ATTEMPTS) are the limit, so that
# attempts made by a drained copy of the job count too.
@celery_app.task(bind=True, name=SEND_WELCOME_EMAIL, max_retries=None)
def send_welcome_email(self: Task[[int], bool], outbox_id: int) -> bool:
    try:
        return run_with_database(
            lambda sessionmaker, settings: outbox.deliver_welcome_email(
                sessionmaker, settings, outbox_id
            )
        )
    except outbox.DeliveryFailed as failure:
        if failure.attempts >= outbox.MAX_ATTEMPTS:
            logger.error("%s; giving up after %d attempts", failure, failure.attempts)
            return False
        countdown = outbox.retry_delay(failure.attempts)
        logger.warning("%s; retrying in %.1f s", failure, countdown)
        raise self.retry(exc=failure, countdown=countdown) from failure
    except (DBAPIError, TimeoutError) as error:
        # The database is unreachable or another transaction held the lock longer than
        # DATABASE_TIMEOUT: nothing could be recorded in the row, so Celery's own count sets
        # the wait. If the claim was committed but its outcome could not be, the retry finds
        # the row claimed and does nothing; the drain publishes it once the claim expires.
        countdown = outbox.retry_delay(self.request.retries + 1)
        logger.warning("outbox %d: %s; retrying in %.1f s", outbox_id, error, countdown)
        raise self.retry(exc=error, countdown=countdown, max_retries=outbox.MAX_ATTEMPTS) from error


@celery_app.task(name=DRAIN_OUTBOX)
def drain_outbox() -> int:
    """Publish again every job whose row is unsent and overdue (see outbox.overdue)."""
    due = run_with_database(outbox.overdue_rows)
    # Published once the database work is done, outside its event loop.
    for outbox_id in due:
        send_welcome_email.delay(outbox_id)
    if due:
        logger.info("outbox drain: published %d unsent job(s) again", len(due))
    return len(due)
