"""SECRET_KEY in production, bounded password hashing and the login rate limit."""

from __future__ import annotations

import logging
import os
import threading
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.project_slug }} import create_app, security
from {{ cookiecutter.project_slug }}.config import ConfigError, Settings
from {{ cookiecutter.project_slug }}.errors import APIError

from .helpers import TEST_SECRET_KEY, make_config

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
# Given (README, "Tests"), a Redis that does not answer there fails the test.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("", "is not set"),
        ("Jq3vX9tLmR7wK2pZ8nB4", "is shorter than 32 characters"),
        ("ab" * 20, "has fewer than 10 different characters"),
        ("change-me-Jq3vX9tLmR7wK2pZ8nB4cH6dF", "looks like a placeholder"),
        ("Jq3vX9tLmR7wK2pZ8nB4cH6dF1gS5yUe-EXAMPLE", "looks like a placeholder"),
        ("Jq3vX9tLmR7wK2pZ8nB4cH6dF1gS5yUe_Password", "looks like a placeholder"),
    ],
)
def test_production_refuses_a_weak_secret(secret: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        create_app(make_config(ENVIRONMENT="production", SECRET_KEY=secret))
    message = str(refused.value)
    assert message.startswith(f"SECRET_KEY {problem}")
    assert "os.urandom(32).hex()" in message  # says how to make a good one
    assert "\n" not in message
    if secret:
        assert secret not in message


def test_production_starts_with_a_strong_secret() -> None:
    app = create_app(make_config(ENVIRONMENT="production"))
    assert app.config["SECRET_KEY"] == TEST_SECRET_KEY


def test_weak_secrets_are_fine_outside_production() -> None:
    app = create_app(make_config(ENVIRONMENT="development", SECRET_KEY="change-me"))
    assert app.config["SECRET_KEY"] == "change-me"


def test_a_random_secret_when_none_is_set_in_development(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        app = create_app(make_config(ENVIRONMENT="development", SECRET_KEY=""))
    assert len(app.config["SECRET_KEY"]) >= 32
    another = create_app(make_config(ENVIRONMENT="development", SECRET_KEY=""))
    assert another.config["SECRET_KEY"] != app.config["SECRET_KEY"]
    assert "SECRET_KEY is not set: using a random one" in caplog.text


def test_a_bad_rate_limit_is_one_clear_line() -> None:
    with pytest.raises(
        ConfigError, match=r"^Invalid settings: LOGIN_RATE_LIMIT: expected `limits`"
    ):
        Settings.load({"login_rate_limit": "often"})


def test_hashing_waits_for_a_free_slot_then_answers_503(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(security, "HASHING_WAIT_SECONDS", 0.05)
    release = threading.Event()
    busy = [security.HASHING.submit(release.wait, 30) for _ in range(security.CORES)]
    try:
        response = client.post(TOKEN, data={"username": "ada@example.com", "password": "guess"})
    finally:
        release.set()
        for turn in busy:
            turn.result(timeout=30)
    assert response.status_code == 503
    assert response.get_json() == {"detail": "Service Unavailable"}
    assert response.headers["Retry-After"] == "1"
    form = {"username": "ada@example.com", "password": "guess"}
    assert client.post(TOKEN, data=form).status_code == 401  # the threads are free again


def test_a_full_hashing_queue_answers_503_without_waiting(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the request to wait for a turn, it would take this long.
    monkeypatch.setattr(security, "HASHING_WAIT_SECONDS", 60)
    taken = 0
    while security.ADMITTED.acquire(blocking=False):
        taken += 1
    try:
        response = client.post(TOKEN, data={"username": "ada@example.com", "password": "guess"})
    finally:
        for _ in range(taken):
            security.ADMITTED.release()
    assert taken == 2 * security.CORES
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"


def test_each_refusal_is_a_new_error_that_keeps_no_earlier_frames(app: Flask) -> None:
    # A login flood is refused many times a second: were one exception raised again and
    # again, its traceback would grow by a few frames at each refusal, and stay in memory.
    taken = 0
    while security.ADMITTED.acquire(blocking=False):
        taken += 1
    refusals: list[APIError] = []
    frames: list[int] = []
    try:
        with app.app_context():
            for _ in range(200):
                with pytest.raises(APIError) as refused:
                    security.hash_password("correct horse")
                refusals.append(refused.value)
                frames.append(len(traceback.extract_tb(refused.value.__traceback__)))
    finally:
        for _ in range(taken):
            security.ADMITTED.release()
    assert {error.status for error in refusals} == {503}
    assert len({id(error) for error in refusals}) == len(refusals)
    assert set(frames) == {frames[0]}, f"traceback frames from {frames[0]} to {max(frames)}"


def test_hashing_threads_yield_the_cpu(client: FlaskClient) -> None:
    niceness = security.HASHING.submit(os.getpriority, os.PRIO_PROCESS, 0).result(timeout=30)
    assert niceness >= os.getpriority(os.PRIO_PROCESS, 0) + 1 or niceness == 19


@pytest.fixture
def limited(database_url: str) -> Callable[..., FlaskClient]:
    """Clients of apps with a low LOGIN_RATE_LIMIT (their requests write nothing)."""

    def client(**settings: str) -> FlaskClient:
        config = {"DATABASE_URL": database_url, "LOGIN_RATE_LIMIT": "2/minute", **settings}
        return create_app(make_config(**config)).test_client()

    return client


@pytest.mark.parametrize("path", [REGISTER, TOKEN])
def test_too_many_attempts_from_one_address_answer_429(
    limited: Callable[..., FlaskClient], path: str
) -> None:
    client = limited()
    statuses = [client.post(path, data={}).status_code for _ in range(3)]
    assert statuses == [422, 422, 429]
    refused = client.post(path, data={})
    assert refused.get_json() == {"detail": "Too Many Requests"}
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    other = client.post(path, data={}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 422  # another address has its own count


def test_too_many_logins_for_one_email_answer_429(limited: Callable[..., FlaskClient]) -> None:
    client = limited(LOGIN_RATE_LIMIT="2/minute")
    form = {"username": "ada@example.com", "password": "guess"}
    statuses = [
        client.post(TOKEN, data=form, environ_base={"REMOTE_ADDR": f"192.0.2.{n}"}).status_code
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]


@pytest.mark.skipif(not TEST_REDIS_URL, reason="set TEST_REDIS_URL to run it (README, Tests)")
def test_with_redis_the_processes_share_the_counts(limited: Callable[..., FlaskClient]) -> None:
    # An address of its own, so that earlier runs' counts on the shared server do not matter.
    address = {"REMOTE_ADDR": f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"}
    first = limited(REDIS_URL=TEST_REDIS_URL)
    second = limited(REDIS_URL=TEST_REDIS_URL)
    assert first.post(REGISTER, data={}, environ_base=address).status_code == 422
    assert second.post(REGISTER, data={}, environ_base=address).status_code == 422
    assert first.post(REGISTER, data={}, environ_base=address).status_code == 429


def test_hashing_slots_follow_the_cpus_the_process_may_use(tmp_path: Path) -> None:
    """One slot per CPU of the affinity mask, capped by the cgroup's CPU quota (a pod's limit)."""
    cpu_max = tmp_path / "cpu.max"
    cpus = len(os.sched_getaffinity(0))
    cpu_max.write_text("max 100000\n")
    assert security.usable_cpus(cpu_max) == cpus
    cpu_max.write_text("50000 100000\n")  # half a CPU: still one slot
    assert security.usable_cpus(cpu_max) == 1
    cpu_max.write_text(f"{(cpus + 4) * 100000} 100000\n")  # a limit above what the mask allows
    assert security.usable_cpus(cpu_max) == cpus
    assert security.usable_cpus(tmp_path / "absent") == cpus
