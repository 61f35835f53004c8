"""The jobs against a real SMTP server (aiosmtpd): the welcome email is delivered, once
however often its job runs, retried with growing waits while the server refuses, and
sent by the drain when the broker was down at registration or its worker was lost. While
the mail goes, the job holds no lock and no connection: its claim keeps other runs away."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from celery import signals
from flask import Flask
from sqlalchemy import delete, insert, select, update
from sqlalchemy.pool import QueuePool

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
        floor = tasks.RETRY_BASE_SECONDS * 2**number
        assert floor <= wait <= 1.5 * floor
    assert retry_waits == sorted(retry_waits)
    done = row_of(mail_app, row.id)
    assert done.attempts == 4
    assert done.sent_at is not None


def test_the_waits_stop_growing_at_the_longest(retry_waits: list[float]) -> None:
    assert tasks.RETRY_MAX_SECONDS <= tasks.retry_delay(30) <= 1.5 * tasks.RETRY_MAX_SECONDS


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
        print(f"register with the broker down: {time.perf_counter() - started:.2f} s")
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


def tried_row(email: str, claimed_until: datetime) -> OutboxMessage:
    """A row tried once, long ago, and claimed until ``claimed_until``."""
    return OutboxMessage(
        kind=outbox.WELCOME_EMAIL,
        payload={"email": email},
        created_at=utcnow() - timedelta(minutes=5),
        attempts=1,
        claimed_until=claimed_until,
    )


def test_the_drain_publishes_rows_whose_claim_ran_out_unsent(mail_app: Flask, inbox: Inbox) -> None:
    """A claim that ran out with the row unsent: its worker was lost. A claim that runs
    on: its run is sending, and records and retries its own failure."""
    with mail_app.app_context():
        lost = tried_row("lost@example.com", utcnow() - timedelta(seconds=1))
        busy = tried_row("busy@example.com", utcnow() + timedelta(minutes=1))
        db.session.add_all([lost, busy])
        db.session.flush()
        lost_id, busy_id = lost.id, busy.id
        db.session.commit()
        mail_app.extensions["celery"].conf.task_always_eager = True
        assert drain_outbox() == 1
        assert drain_outbox() == 0  # sent: nothing left to publish
    [message] = inbox.messages
    assert message["To"] == "lost@example.com"
    done = row_of(mail_app, lost_id)
    assert done.sent_at is not None
    assert (done.attempts, done.claimed_until) == (2, None)
    waiting = row_of(mail_app, busy_id)
    assert (waiting.sent_at, waiting.attempts) == (None, 1)


def test_a_run_while_another_claims_the_row_sends_nothing(mail_app: Flask, inbox: Inbox) -> None:
    row = register(mail_app)
    with mail_app.app_context():
        claimed = db.session.get_one(OutboxMessage, row.id)
        claimed.attempts, claimed.claimed_until = 1, utcnow() + timedelta(minutes=1)
        db.session.commit()
    assert run(row.id) is False
    assert inbox.messages == []
    untouched = row_of(mail_app, row.id)
    assert (untouched.sent_at, untouched.attempts) == (None, 1)
    assert untouched.claimed_until is not None


def test_a_claim_outlasts_the_longest_send() -> None:
    assert tasks.claim_duration(Settings()) == timedelta(minutes=1)
    assert tasks.claim_duration(Settings(smtp_timeout=30)) == timedelta(minutes=3)


# Well under DATABASE_TIMEOUT, which is how long a write would wait for a held lock.
WRITE_BOUND_SECONDS = 2.0
COMMITTED = "@committed.example"


@pytest.fixture
def committing_app(database_url: str) -> Iterator[Flask]:
    """An app whose transactions commit for real, as the worker's do: this test's rows
    (addresses at COMMITTED) are deleted at the end."""
    app = create_app(make_config(DATABASE_URL=database_url, DATABASE_TIMEOUT=5))
    try:
        yield app
    finally:
        with app.app_context():
            db.session.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.payload["email"].as_string().endswith(COMMITTED)
                )
            )
            db.session.commit()
            db.engine.dispose()


def add_committed_row(app: Flask, email: str) -> int:
    with app.app_context():
        row = OutboxMessage(kind=outbox.WELCOME_EMAIL, payload={"email": email})
        db.session.add(row)
        db.session.commit()
        return row.id


def test_no_lock_and_no_connection_are_held_while_the_mail_goes(
    committing_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mail server that takes its time holds up no other write: the job claimed its row
    and committed before sending. A second run meanwhile finds the claim and sends nothing."""
    app = committing_app
    sending, release = threading.Event(), threading.Event()
    sent: list[EmailMessage] = []

    def slow_send(message: EmailMessage, settings: Settings) -> None:
        sending.set()
        release.wait(timeout=30)
        sent.append(message)

    monkeypatch.setattr(mail, "send", slow_send)
    row_id = add_committed_row(app, f"slow{COMMITTED}")
    results: list[bool] = []

    def deliver() -> None:
        with app.app_context():
            results.append(tasks.deliver_welcome_email(row_id))

    delivery = threading.Thread(target=deliver)
    delivery.start()
    try:
        assert sending.wait(timeout=10)
        with app.app_context():
            started = time.perf_counter()
            with db.engine.connect().execution_options(writes=True) as connection:
                # The row being sent is not locked, nor is anything else.
                connection.execute(
                    select(OutboxMessage.id)
                    .where(OutboxMessage.id == row_id)
                    .with_for_update(nowait=True)
                )
                connection.execute(
                    insert(OutboxMessage).values(
                        kind=outbox.WELCOME_EMAIL, payload={"email": f"other{COMMITTED}"}
                    )
                )
                connection.commit()
            assert time.perf_counter() - started < WRITE_BOUND_SECONDS
            pool = db.engine.pool
            assert isinstance(pool, QueuePool)
            assert pool.checkedout() == 0  # the delivery's session holds no connection
            claimed = db.session.get_one(OutboxMessage, row_id)
            assert claimed.attempts == 1
            assert claimed.claimed_until is not None
            assert claimed.claimed_until > utcnow() + timedelta(seconds=30)
            db.session.rollback()
            assert tasks.deliver_welcome_email(row_id) is False  # claimed: not sent again
    finally:
        release.set()
        delivery.join(timeout=30)
    assert results == [True]
    assert len(sent) == 1
    done = row_of(app, row_id)
    assert done.sent_at is not None
    assert (done.attempts, done.claimed_until, done.last_error) == (1, None, None)


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
