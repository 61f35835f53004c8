"""The request side of the outbox: a job is a row written in the request's own transaction,
then published to the broker after the response, once that transaction has committed.

When the broker cannot be reached the request has already answered; the row stays unsent
and the worker's drain (worker/outbox.py) publishes it once the broker is back.
"""

import logging
from typing import Annotated

from celery import Celery
from fastapi import BackgroundTasks, Depends, FastAPI, Request
from kombu.exceptions import OperationalError

from {{ cookiecutter.project_slug }}.api.deps import SessionDep
from {{ cookiecutter.project_slug }}.db.models import OutboxMessage, User
from {{ cookiecutter.project_slug }}.db.models.outbox import WELCOME_EMAIL
from {{ cookiecutter.project_slug }}.worker.app import SEND_WELCOME_EMAIL, create_celery_app

logger = logging.getLogger(__name__)


def publisher_for(app: FastAPI) -> Celery:
    """The app's own Celery app, made from its settings on first use: publishing only."""
    if getattr(app.state, "celery", None) is None:
        app.state.celery = create_celery_app(app.state.settings)
    celery: Celery = app.state.celery
    return celery


def publish(celery: Celery, task_name: str, outbox_id: int) -> None:
    """Blocking (kombu): Starlette runs a plain function's background task in a thread."""
    try:
        celery.send_task(task_name, args=(outbox_id,))
    except (OperationalError, OSError) as error:
        logger.warning(
            "outbox %d: not published, the broker is unreachable (%s); the drain will send it",
            outbox_id,
            error,
        )


class Outbox:
    """Jobs for after the commit; declare `OutboxDep` in a route that writes one."""

    def __init__(self, session: SessionDep, background: BackgroundTasks, request: Request) -> None:
        self.session = session
        self.background = background
        self.request = request

    async def welcome_email(self, user: User) -> OutboxMessage:
        row = OutboxMessage(kind=WELCOME_EMAIL, payload={"user_id": user.id, "email": user.email})
        self.session.add(row)
        await self.session.flush()
        # Background tasks run after the response; the session has committed by then (it
        # is scoped to the route function). A failed commit answers 500 and drops them.
        celery = publisher_for(self.request.app)
        self.background.add_task(publish, celery, SEND_WELCOME_EMAIL, row.id)
        return row


OutboxDep = Annotated[Outbox, Depends()]
