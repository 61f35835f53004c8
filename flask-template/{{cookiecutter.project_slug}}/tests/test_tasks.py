"""The jobs against a real SMTP server (aiosmtpd): the welcome email is delivered, once
however often its job runs, retried with growing waits while the server refuses, and
sent by the drain when the broker was down at registration."""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from celery import signals
from flask import Flask
from sqlalchemy import select, update

from {{ cookiecutter.project_slug }} import create_app, mail, outbox, tasks
from {{ cookiecutter.project_slug }}.config import Settings
from {{ cookiecutter.project_slug }}.extensions import db
from {{ cookiecutter.project_slug }}.models import utcnow
from {{ cookiecutter.project_slug }}.outbox import OutboxMessage
from {{ cookiecutter.project_slug }}.tasks import drain_outbox, send_welcome_email

from .helpers import AuthActions, make_config
from .mailserver import Inbox, free_port, smtp_server
from .testdb import rolled_back


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server(Inbox()) as inbox:
        yield inbox


def app_for(database_url: str, inbox: Inbox, **overrides: Any) -> Flask:
    settings = {"DATABASE_URL": database_url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": inbox.port}
    return create_app(make_config(**{**settings, **overrides}))


@pytest.fixture
def mail_app(database_url: str, inbox: Inbox) -> Iterator[Flask]:
    with rolled_back(app_for(database_url, inbox)) as app:
        yield app


def register(app: Flask, email: str = "ada@example.com") -> OutboxMessage:
    """A user registered through the API; their outbox row (the job queued in memory only)."""
    AuthActions(app.test_client()).register(email)
    with app.app_context():
        return db.session.execute(
            select(OutboxMessage).where(OutboxMessage.payload["email"].as_string() == email)
        ).scalar_one()


def row_of(app: Flask, outbox_id: int) -> OutboxMessage:
    with app.app_context():
        return db.session.get_one(OutboxMessage, outbox_id)


def run(outbox_id: int) -> Any:
    """The job run here, as the worker runs it (retries included, without their waits)."""
    return send_welcome_email.apply(args=(outbox_id,)).get(propagate=False)


def test_the_welcome_email_is_delivered(mail_app: Flask, inbox: Inbox) -> None:
    row = register(mail_app, "ada@example.com")
    assert run(row.id) is True
    [message] = inbox.messages
    assert message["To"] == "ada@example.com"
    assert message["From"] == "noreply@localhost"
    assert message["Subject"].startswith("Welcome to ")
    assert message["Message-ID"] == f"<welcome-{row.id}.{{ cookiecutter.project_slug }}@localhost>"
    assert "ada@example.com" not in message.get_content()  # the address is in To only
    done = row_of(mail_app, row.id)
    assert done.sent_at is not None
    assert (done.attempts, done.last_error) == (1, None)


def test_a_job_run_twice_sends_one_email(mail_app: Flask, inbox: Inbox) -> None:
    row = register(mail_app)
    assert run(row.id) is True
    assert run(row.id) is False
    assert len(inbox.messages) == 1
    assert row_of(mail_app, row.id).attempts == 1


def test_a_job_for_a_missing_row_does_nothing(mail_app: Flask, inbox: Inbox) -> None:
    assert run(2_000_000_000) is False
    assert inbox.messages == []


@pytest.fixture
def retry_waits() -> Iterator[list[float]]:
    """The countdown of every retry the jobs ask for."""
    waits: list[float] = []

    def record(request: Any, reason: Any, **_: Any) -> None:
        waits.append(float(reason.when))

    signals.task_retry.connect(record, weak=False)
    yield waits
    signals.task_retry.disconnect(record)


def test_a_refusing_server_is_retried_with_growing_waits(
    mail_app: Flask, inbox: Inbox, retry_waits: list[float]
) -> None:
    inbox.refusals = 3
    row = register(mail_app)
    assert run(row.id) is True
    assert len(inbox.messages) == 1
    assert inbox.refused == 3
    # Doubling from 2 s, each plus up to half again: 2-3, 4-6, 8-12.
    assert len(retry_waits) == 3
    for number, wait in enumerate(retry_waits):
        floor = tasks.RETRY_FIRST_DELAY * 2**number
        assert floor <= wait <= 1.5 * floor
    assert retry_waits == sorted(retry_waits)
    done = row_of(mail_app, row.id)
    assert done.attempts == 4
    assert done.sent_at is not None


def test_the_waits_stop_growing_at_the_longest(retry_waits: list[float]) -> None:
    assert tasks.RETRY_LONGEST_DELAY <= tasks.retry_delay(30) <= 1.5 * tasks.RETRY_LONGEST_DELAY


def test_a_permanent_refusal_is_not_retried(
    mail_app: Flask, inbox: Inbox, retry_waits: list[float]
) -> None:
    inbox.refusals, inbox.reply = 1, "550 5.1.1 No such user"
    row = register(mail_app)
    result = run(row.id)
    assert isinstance(result, OSError)
    assert retry_waits == []
    failed = row_of(mail_app, row.id)
    assert failed.sent_at is None
    assert failed.attempts == 1
    assert "550" in (failed.last_error or "")


def test_an_unreachable_server_is_retried_until_the_retries_run_out(
    database_url: str, inbox: Inbox, retry_waits: list[float]
) -> None:
    with rolled_back(app_for(database_url, inbox, SMTP_PORT=free_port())) as app:
        row = register(app)
        assert isinstance(run(row.id), OSError)
        failed = row_of(app, row.id)
    assert len(retry_waits) == tasks.MAX_RETRIES
    assert failed.attempts == tasks.MAX_RETRIES + 1
    assert failed.sent_at is None
    assert "ConnectionRefusedError" in (failed.last_error or "")


def test_the_drain_sends_what_was_committed_while_the_broker_was_down(
    database_url: str, inbox: Inbox
) -> None:
    broker_down = f"redis://127.0.0.1:{free_port()}/0"
    with rolled_back(app_for(database_url, inbox, BROKER_URL=broker_down)) as app:
        started = time.perf_counter()
        row = register(app, "eve@example.com")
        assert time.perf_counter() - started < 1.0
        assert inbox.messages == []
        assert row_of(app, row.id).sent_at is None
        with app.app_context():
            assert drain_outbox() == 0  # too young: its job may be on its way
            db.session.execute(
                update(OutboxMessage).values(created_at=utcnow() - timedelta(minutes=1))
            )
            db.session.commit()
        # The broker is back (jobs now run here, as soon as they are published).
        app.extensions["celery"].conf.task_always_eager = True
        with app.app_context():
            assert drain_outbox() == 1
            assert drain_outbox() == 0  # done: nothing left to publish
        [message] = inbox.messages
        assert message["To"] == "eve@example.com"
        assert row_of(app, row.id).sent_at is not None


def test_the_drain_leaves_rows_that_are_tried_already(mail_app: Flask, inbox: Inbox) -> None:
    with mail_app.app_context():
        old = utcnow() - timedelta(minutes=1)
        db.session.add(
            OutboxMessage(
                kind=outbox.WELCOME_EMAIL,
                payload={"email": "x@example.com"},
                created_at=old,
                attempts=9,
            )
        )
        db.session.commit()
        mail_app.extensions["celery"].conf.task_always_eager = True
        assert drain_outbox() == 0
    assert inbox.messages == []


def test_the_worker_app_is_made_by_the_app_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER_URL", "memory://")
    monkeypatch.setenv("OUTBOX_DRAIN_SECONDS", "7")
    worker = importlib.reload(importlib.import_module("{{ cookiecutter.project_slug }}.worker"))
    conf = worker.celery_app.conf
    assert conf.broker_url == "memory://"
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.beat_schedule["drain-outbox"] == {"task": drain_outbox.name, "schedule": 7.0}
    assert worker.flask_app.extensions["celery"] is worker.celery_app


def test_the_message_id_comes_from_the_outbox_row() -> None:
    settings = Settings(mail_from="Shop <hello@shop.example>")
    message: EmailMessage = mail.welcome_message(42, "ada@example.com", settings)
    assert message["Message-ID"] == "<welcome-42.{{ cookiecutter.project_slug }}@shop.example>"
    assert message["From"] == "Shop <hello@shop.example>"
