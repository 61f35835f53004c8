"""The worker's tasks, run in this process on committed rows, against a real SMTP server.

The tasks open their own database connections (as in the worker process), so these tests
commit their rows to the test database and delete them afterwards, instead of running in
the rolled-back transaction of the other tests. They are plain functions: each task runs
its own event loop.
"""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from celery.signals import task_retry
from helpers import make_settings
from smtp_server import Mailbox, smtp_server
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from {{ cookiecutter.project_slug }}.core.config import ConfigError, Settings, get_settings
from {{ cookiecutter.project_slug }}.db.models import OutboxMessage, User
from {{ cookiecutter.project_slug }}.db.models.outbox import WELCOME_EMAIL
from {{ cookiecutter.project_slug }}.db.types import utcnow
from {{ cookiecutter.project_slug }}.worker import celery_app, drain_outbox, mail, outbox, send_welcome_email, tasks

DOMAIN = "worker.test"


class Rows:
    """Users with their welcome-email row, committed; all deleted by `clean_up`."""

    def add(
        self,
        name: str,
        *,
        age: timedelta = timedelta(0),
        attempts: int = 0,
        claimed_until: datetime | None = None,
    ) -> int:
        async def work(sessionmaker: async_sessionmaker[AsyncSession], _: Settings) -> int:
            async with sessionmaker.begin() as session:
                user = User(email=f"{name}@{DOMAIN}", hashed_password="unused")
                session.add(user)
                await session.flush()
                row = OutboxMessage(
                    kind=WELCOME_EMAIL,
                    payload={"user_id": user.id, "email": user.email},
                    created_at=utcnow() - age,
                    attempts=attempts,
                    claimed_until=claimed_until,
                )
                session.add(row)
                await session.flush()
                return row.id

        return tasks.run_with_database(work)

    def get(self, outbox_id: int) -> OutboxMessage:
        async def work(sessionmaker: async_sessionmaker[AsyncSession], _: Settings) -> Any:
            async with sessionmaker() as session:
                return await session.get(OutboxMessage, outbox_id)

        row: OutboxMessage = tasks.run_with_database(work)
        return row

    def write_beside(self, name: str, outbox_id: int) -> OutboxMessage:
        """Another writer, on a connection of its own: adds a user and locks the outbox row."""

        async def work(sessionmaker: async_sessionmaker[AsyncSession], _: Settings) -> Any:
            writes = sessionmaker(execution_options={"writes": True})
            async with writes as session, session.begin():
                session.add(User(email=f"{name}@{DOMAIN}", hashed_password="unused"))
                return await session.get(OutboxMessage, outbox_id, with_for_update=True)

        row: OutboxMessage = tasks.run_with_database(work)
        return row

    def clean_up(self) -> None:
        async def work(sessionmaker: async_sessionmaker[AsyncSession], _: Settings) -> None:
            async with sessionmaker.begin() as session:
                emails = select(User.email).where(User.email.endswith(f"@{DOMAIN}"))
                await session.execute(
                    delete(OutboxMessage).where(
                        OutboxMessage.payload["email"].as_string().in_(emails)
                    )
                )
                await session.execute(delete(User).where(User.email.endswith(f"@{DOMAIN}")))

        tasks.run_with_database(work)


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def rows(
    settings: Settings, engine: AsyncEngine, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rows]:
    # `engine` has built the schema. Published jobs run here and now, never on a broker.
    previous = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url="memory://", task_always_eager=True)
    with smtp_server(mailbox) as port:
        worker_settings = settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_timeout": 5.0,
                "database_timeout": 5.0,
            }
        )
        monkeypatch.setattr(tasks, "task_settings", lambda: worker_settings)
        rows = Rows()
        rows.clean_up()
        try:
            yield rows
        finally:
            rows.clean_up()
            celery_app.conf.update(previous)


@pytest.fixture
def countdowns() -> Iterator[list[float]]:
    """The delay of every retry the tasks ask for."""
    seen: list[float] = []

    def record(reason: Any = None, **_: Any) -> None:
        seen.append(float(reason.when))

    task_retry.connect(record, weak=False)
    yield seen
    task_retry.disconnect(record)


class HeldSend:
    """Stands in for the SMTP send: each call waits until `release` is set, then sends."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, message: EmailMessage, settings: Settings) -> None:
        self.calls += 1
        self.started.set()
        if not self.release.wait(timeout=30):
            raise RuntimeError("never released")
        mail.send_message(message, settings)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldSend]:
    held = HeldSend()
    monkeypatch.setattr(outbox, "send_message", held)
    yield held
    held.release.set()


def test_the_task_sends_the_welcome_email(rows: Rows, mailbox: Mailbox) -> None:
    outbox_id = rows.add("ada")
    assert send_welcome_email.apply(args=(outbox_id,)).get() is True
    (message,) = mailbox.messages
    assert message["To"] == f"ada@{DOMAIN}"
    assert message["From"] == "noreply@localhost"
    assert message["Subject"].startswith("Welcome to ")
    assert message["Message-ID"].startswith(f"<welcome-{outbox_id}.")
    row = rows.get(outbox_id)
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.last_error is None
    assert row.claimed_until is None


def test_running_the_task_twice_sends_one_email(rows: Rows, mailbox: Mailbox) -> None:
    outbox_id = rows.add("bea")
    assert send_welcome_email.apply(args=(outbox_id,)).get() is True
    assert send_welcome_email.apply(args=(outbox_id,)).get() is False
    assert len(mailbox.messages) == 1
    assert rows.get(outbox_id).attempts == 1


def test_a_missing_row_is_nothing_to_do(rows: Rows, mailbox: Mailbox) -> None:
    assert send_welcome_email.apply(args=(2_000_000_000,)).get() is False
    assert mailbox.messages == []


def test_a_refused_email_is_retried_with_growing_delays(
    rows: Rows, mailbox: Mailbox, countdowns: list[float]
) -> None:
    mailbox.refuse = 4
    outbox_id = rows.add("cyd")
    # Applied here, a retry runs at once; the delay it asked for is what a worker waits.
    assert send_welcome_email.apply(args=(outbox_id,)).get() is True
    assert len(mailbox.messages) == 1
    assert mailbox.refused == 4
    assert len(countdowns) == 4
    assert countdowns == sorted(countdowns)
    assert countdowns[-1] > countdowns[0]
    for attempts, countdown in enumerate(countdowns, 1):
        ceiling = outbox.retry_ceiling(attempts)
        assert ceiling / 2 <= countdown <= ceiling
    row = rows.get(outbox_id)
    assert row.attempts == 5
    assert row.sent_at is not None
    assert row.last_error is not None
    assert "451" in row.last_error
    assert row.claimed_until is None


def test_after_the_last_attempt_the_row_is_left_for_an_operator(
    rows: Rows, mailbox: Mailbox, countdowns: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 3)
    mailbox.refuse = 100
    outbox_id = rows.add("dov")
    assert send_welcome_email.apply(args=(outbox_id,)).get() is False
    assert len(countdowns) == 2
    row = rows.get(outbox_id)
    assert (row.attempts, row.sent_at) == (3, None)
    # Neither a drained copy nor the drain itself tries again.
    assert send_welcome_email.apply(args=(outbox_id,)).get() is False
    assert drain_outbox.apply().get() == 0
    assert mailbox.refused == 3


def test_an_unreachable_mail_server_is_retried(rows: Rows, countdowns: list[float]) -> None:
    settings = tasks.task_settings()
    closed = settings.model_copy(update={"smtp_port": 1})
    outbox_id = rows.add("eli")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "task_settings", lambda: closed)
        patch.setattr(outbox, "MAX_ATTEMPTS", 2)
        assert send_welcome_email.apply(args=(outbox_id,)).get() is False
    row = rows.get(outbox_id)
    assert row.attempts == 2
    assert row.last_error is not None
    assert "ConnectionRefusedError" in row.last_error


def test_the_drain_sends_the_jobs_that_were_lost(rows: Rows, mailbox: Mailbox) -> None:
    # Published while the broker was down: never attempted.
    lost = rows.add("fay", age=timedelta(minutes=1))
    # Its request's own job may still be on its way.
    fresh = rows.add("gus")
    # Failed once a moment ago: its retry is still scheduled.
    retrying = rows.add("hal", age=timedelta(seconds=6), attempts=1)
    # Failed once long ago, and its retry never came (the broker lost its queue).
    stale = rows.add("ivy", age=timedelta(minutes=5), attempts=1)
    assert drain_outbox.apply().get() == 2
    assert sorted(message["To"] for message in mailbox.messages) == [
        f"fay@{DOMAIN}",
        f"ivy@{DOMAIN}",
    ]
    assert rows.get(lost).sent_at is not None
    assert rows.get(stale).sent_at is not None
    assert rows.get(fresh).sent_at is None
    assert rows.get(retrying).sent_at is None
    # Sent rows are not drained again.
    assert drain_outbox.apply().get() == 0
    assert len(mailbox.messages) == 2


def test_no_lock_is_held_while_the_email_is_sent(
    rows: Rows, mailbox: Mailbox, held: HeldSend
) -> None:
    outbox_id = rows.add("jan")
    with ThreadPoolExecutor(max_workers=1) as pool:
        sending = pool.submit(lambda: send_welcome_email.apply(args=(outbox_id,)).get())
        try:
            assert held.started.wait(timeout=10)
            # While the mail server keeps the send waiting, another writer adds a user and
            # locks the row, well within DATABASE_TIMEOUT (5 s).
            started = time.monotonic()
            row = rows.write_beside("kim", outbox_id)
            elapsed = time.monotonic() - started
        finally:
            held.release.set()
        assert sending.result(timeout=30) is True
    # Written while the send was held: a lock kept through the send would have made the
    # write wait out DATABASE_TIMEOUT and fail. The time is a figure, not a check.
    print(f"write beside a held send: {elapsed:.3f} s")
    # The claim was committed before the send.
    assert (row.attempts, row.sent_at) == (1, None)
    assert row.claimed_until is not None
    assert row.claimed_until > utcnow()
    assert held.calls == 1
    assert [message["To"] for message in mailbox.messages] == [f"jan@{DOMAIN}"]
    row = rows.get(outbox_id)
    assert row.sent_at is not None
    assert (row.attempts, row.claimed_until, row.last_error) == (1, None, None)


def test_a_second_run_during_a_claim_sends_nothing(
    rows: Rows, mailbox: Mailbox, held: HeldSend
) -> None:
    # Old enough for the drain, were the row not claimed.
    outbox_id = rows.add("lou", age=timedelta(minutes=10))
    with ThreadPoolExecutor(max_workers=1) as pool:
        sending = pool.submit(lambda: send_welcome_email.apply(args=(outbox_id,)).get())
        try:
            assert held.started.wait(timeout=10)
            second = tasks.run_with_database(
                lambda sessionmaker, settings: outbox.deliver_welcome_email(
                    sessionmaker, settings, outbox_id
                )
            )
            drained = tasks.run_with_database(outbox.overdue_rows)
        finally:
            held.release.set()
        assert sending.result(timeout=30) is True
    assert second is False
    assert outbox_id not in drained
    assert held.calls == 1
    assert len(mailbox.messages) == 1
    assert rows.get(outbox_id).attempts == 1


def test_the_drain_sends_a_row_whose_claim_expired(rows: Rows, mailbox: Mailbox) -> None:
    now = utcnow()
    # Its worker was lost mid-send: the claim ran out with the row unsent. By its attempts
    # alone (retries still scheduled) the row would not be due yet.
    expired = rows.add(
        "max", age=timedelta(minutes=2), attempts=8, claimed_until=now - timedelta(seconds=1)
    )
    # Another worker is sending this one right now.
    active = rows.add(
        "ned", age=timedelta(minutes=10), attempts=1, claimed_until=now + timedelta(minutes=1)
    )
    assert tasks.run_with_database(outbox.overdue_rows) == [expired]
    assert drain_outbox.apply().get() == 1
    assert [message["To"] for message in mailbox.messages] == [f"max@{DOMAIN}"]
    row = rows.get(expired)
    assert row.sent_at is not None
    assert (row.attempts, row.claimed_until) == (9, None)
    row = rows.get(active)
    assert (row.attempts, row.sent_at) == (1, None)
    assert row.claimed_until is not None
    # A job that runs while the claim is active leaves the row alone.
    assert send_welcome_email.apply(args=(active,)).get() is False
    assert len(mailbox.messages) == 1


def test_a_claim_outlasts_several_waits_on_the_mail_server() -> None:
    assert outbox.claim_duration(make_settings(smtp_timeout=5)) == timedelta(minutes=1)
    assert outbox.claim_duration(make_settings(smtp_timeout=30)) == timedelta(minutes=3)


def test_the_worker_app_runs_the_drain_on_a_schedule() -> None:
    schedule = celery_app.conf.beat_schedule["drain-outbox"]
    assert schedule["task"] == drain_outbox.name
    assert schedule["schedule"] == get_settings().outbox_drain_seconds
    assert celery_app.conf.task_acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True
    assert send_welcome_email.name in celery_app.tasks


def test_retry_delays_double_up_to_a_cap() -> None:
    assert [outbox.retry_ceiling(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert outbox.retry_ceiling(40) == outbox.RETRY_MAX_SECONDS
    for _ in range(100):
        assert 4.0 <= outbox.retry_delay(4) <= 8.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("broker_url", "http://localhost:6379"),
        ("mail_from", "not an address"),
        ("mail_from", "a@b\r\nBcc: c@d"),
        ("smtp_port", "0"),
        ("outbox_drain_seconds", "0"),
    ],
)
def test_a_bad_worker_setting_is_one_line(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name.upper(), value)
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError) as refused:
            get_settings()
    finally:
        get_settings.cache_clear()
    line = str(refused.value)
    assert line.startswith(f"invalid settings: {name.upper()}: ")
    assert "\n" not in line


def test_worker_settings_accept_redis_rabbitmq_and_a_display_name() -> None:
    for url in ("redis://redis:6379/0", "rediss://host:6380/1", "amqp://u:p@rabbit:5672//"):
        assert make_settings(broker_url=url).broker_url == url
    assert make_settings(mail_from="Team <team@example.com>").mail_from == "Team <team@example.com>"
