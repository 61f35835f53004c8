"""The FastAPI template's worker option, end to end: a baked service under its production
server, a real Celery worker process (with its beat) on a real Redis, and a real SMTP
server (aiosmtpd) in this process.

- every registration's welcome email arrives exactly once;
- a mail server that answers 451 to the first attempts gets the email after retries;
- with the broker down, registrations still answer 201 at once; once the broker and the
  worker are up, the outbox drain sends every email that could not be published.

The broker is a private redis-server on a port of the test's own, so that "down" can be
arranged without touching the machine's shared Redis.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import Baked, bake, project_env, require_tool
from tests.private_servers import private_redis, rabbitmq_vhost, smtp_server
from tests.serving import free_port, serving, stop_server

pytestmark = [pytest.mark.slow, pytest.mark.scale]

PASSWORD = "correct-horse-battery"
DELIVERY_TIMEOUT = 30.0


class Mailbox:
    """Counts the messages per recipient and when each arrived; answers 451 to the first
    `refuse_first` attempts for a recipient whose address starts with "retry"."""

    def __init__(self, refuse_first: int) -> None:
        self.refuse_first = refuse_first
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.arrived: dict[str, float] = {}
        self.refused: Counter[str] = Counter()
        self.message_ids: dict[str, set[str]] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        (recipient,) = envelope.rcpt_tos
        with self.lock:
            if recipient.startswith("retry") and self.refused[recipient] < self.refuse_first:
                self.refused[recipient] += 1
                return "451 4.3.0 Try again later"
            message = message_from_bytes(envelope.content, policy=policy.default)
            self.received[recipient] += 1
            self.arrived.setdefault(recipient, time.monotonic())
            self.message_ids.setdefault(recipient, set()).add(str(message["Message-ID"]))
        return "250 OK"

    def wait_for(self, recipients: set[str], timeout: float = DELIVERY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if recipients <= set(self.received):
                    return
            time.sleep(0.1)
        missing = sorted(recipients - set(self.received))
        raise AssertionError(f"no welcome email within {timeout} s for {missing}")


@contextmanager
def celery_worker(baked: Baked, settings: dict[str, str], log: Path, schedule: Path) -> Iterator[None]:
    """The worker as the README and compose run it: `celery ... worker --beat`."""
    command = ["celery", "--app", f"{baked.slug}.worker:celery_app", "worker", "--beat", "--loglevel", "INFO"]
    # Two processes on this 2-core machine; the beat's state file in the test's own folder.
    command += ["--concurrency", "2", "--schedule-filename", str(schedule)]
    with log.open("a") as out:
        process = subprocess.Popen(
            command,
            cwd=baked.path,
            env=project_env(**settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text():
            assert process.poll() is None, f"the worker exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the worker was not ready within 60 s:\n{log.read_text()}"
            time.sleep(0.2)
        yield
    finally:
        stop_server(process)


def register(base_url: str, email: str) -> float:
    """Register `email`; the seconds the 201 took."""
    started = time.monotonic()
    response = httpx.post(f"{base_url}/api/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=30)
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.text
    return elapsed


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_every_welcome_email_arrives_once(cookies: Any, tmp_path: Path, database: str, database_url: Any) -> None:
    for program in ("redis-server", "redis-cli"):
        require_tool(shutil.which(program), f"{program} is needed for a private broker (apt-get install redis-server)")
    url = database_url("postgresql") if database == "postgresql" else f"sqlite:///{tmp_path / 'app.db'}"
    baked = bake(
        cookies, "fastapi", project_name=f"Worker {database}", database=database, use_auth=True, use_worker=True
    )
    redis_port = free_port()
    mailbox = Mailbox(refuse_first=2)
    with smtp_server(mailbox) as smtp_port:
        settings = {
            "DATABASE_URL": url,
            "BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "OUTBOX_DRAIN_SECONDS": "1",
            "LOGIN_RATE_LIMIT": "100000/minute",
            "LOG_LEVEL": "INFO",
        }
        with serving(baked, tmp_path / "server.log", settings, workers=1) as base_url:
            # 1. The broker is down: nothing listens on its port yet.
            offline = [f"offline{n}@example.com" for n in range(5)]
            offline_seconds = [register(base_url, email) for email in offline]
            assert max(offline_seconds) < 5, offline_seconds
            time.sleep(1)
            assert not mailbox.received
            server_log = (tmp_path / "server.log").read_text()
            assert server_log.count("not published, the broker is unreachable") == len(offline), server_log

            worker_log = tmp_path / "worker.log"
            with (
                private_redis(redis_port, tmp_path / "redis.log"),
                celery_worker(baked, settings, worker_log, tmp_path / "beat-schedule"),
            ):
                worker_ready = time.monotonic()
                # The drain publishes the rows the service could not.
                mailbox.wait_for(set(offline))
                drained_after = max(mailbox.arrived[email] for email in offline) - worker_ready

                # 2. The broker is up: each job is published after its request.
                online = [f"online{n}@example.com" for n in range(10)]
                sent_at = {email: (register(base_url, email), time.monotonic())[1] for email in online}
                mailbox.wait_for(set(online))
                latencies = sorted(mailbox.arrived[email] - sent_at[email] for email in online)

                # 3. The mail server refuses the first attempts: retried with backoff.
                retried = ["retry0@example.com", "retry1@example.com"]
                retry_sent = {email: (register(base_url, email), time.monotonic())[1] for email in retried}
                mailbox.wait_for(set(retried))
                retry_latencies = [mailbox.arrived[email] - retry_sent[email] for email in retried]

                # A few more drain rounds: nothing is sent twice.
                time.sleep(2)
    everyone = offline + online + retried
    assert dict(mailbox.received) == dict.fromkeys(everyone, 1)
    assert all(len(mailbox.message_ids[email]) == 1 for email in everyone)
    assert dict(mailbox.refused) == dict.fromkeys(retried, 2)

    log = worker_log.read_text()
    sent = len(re.findall(r"send_welcome_email\[[^\]]+\] succeeded in [0-9.]+s: True", log))
    idle = len(re.findall(r"send_welcome_email\[[^\]]+\] succeeded in [0-9.]+s: False", log))
    retries = len(re.findall(r"send_welcome_email\[[^\]]+\] retry", log))
    drains = len(re.findall(r"drain_outbox\[[^\]]+\] succeeded", log))
    assert sent == len(everyone), log
    assert retries == 4, log
    print(
        f"\n{database}: {len(everyone)} welcome emails, each delivered once; "
        f"send_welcome_email ran {sent + idle + retries} times: {sent} sent, {retries} retried after a 451, "
        f"{idle} found the email already sent (drained copies); drain_outbox ran {drains} times\n"
        f"  broker down: {len(offline)} registrations answered 201 in at most {max(offline_seconds):.2f} s; "
        f"all delivered {drained_after:.1f} s after the worker was ready\n"
        f"  broker up: register -> email median {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s\n"
        f"  two 451s first: delivered after {', '.join(f'{s:.1f}' for s in retry_latencies)} s"
    )


def test_welcome_emails_go_through_rabbitmq(cookies: Any, tmp_path: Path) -> None:
    """The other broker the README offers: the same jobs over AMQP, on a virtual host of the
    test's own, each email delivered once."""
    baked = bake(cookies, "fastapi", project_name="Worker amqp", database="sqlite", use_auth=True, use_worker=True)
    mailbox = Mailbox(refuse_first=1)
    with rabbitmq_vhost() as broker_url, smtp_server(mailbox) as smtp_port:
        settings = {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "BROKER_URL": broker_url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "OUTBOX_DRAIN_SECONDS": "1",
            "LOGIN_RATE_LIMIT": "100000/minute",
            "LOG_LEVEL": "INFO",
        }
        with (
            serving(baked, tmp_path / "server.log", settings, workers=1) as base_url,
            celery_worker(baked, settings, tmp_path / "worker.log", tmp_path / "beat-schedule"),
        ):
            emails = ["amqp0@example.com", "amqp1@example.com", "retry-amqp@example.com"]
            for email in emails:
                register(base_url, email)
            mailbox.wait_for(set(emails))
            time.sleep(2)  # a few drain rounds: nothing is sent twice
    assert dict(mailbox.received) == dict.fromkeys(emails, 1)
    assert dict(mailbox.refused) == {"retry-amqp@example.com": 1}
    assert "not published" not in (tmp_path / "server.log").read_text()
