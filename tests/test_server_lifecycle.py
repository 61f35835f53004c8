"""The server's lifecycle under load, for each framework under the shipped production server
(granian with two workers and the README's flags), PostgreSQL with auth, production mode:

- a worker killed with SIGKILL (what the OOM killer does) is replaced, and the service keeps
  answering meanwhile: only the requests the dead worker had in flight are lost;
- SIGHUP (reload) under load refuses and drops nothing. As with any HTTP/1.1 server, a
  kept-alive connection that is idle when its worker stops is closed, and a request sent on it
  at that instant gets no answer. Such a request was never read, so a client may send it again
  (browsers and proxies do): the reload test's clients do, once, and the test proves that no
  item is stored twice;
- SIGTERM right after a reload, under load, ends the server within a bound, and every
  create either answered 201 and stored, or never stored: none done without its answer.

The load is creates (POST /api/v1/items) from clients that keep their connections alive,
and /health on fresh connections. Figures are printed; the bounds are timeouts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import FRAMEWORKS, bake, connect
from tests.serving import free_port, migrate, start_server, stop_server

CLIENTS = 4
PAUSE = 0.02  # seconds each client waits between requests: load, on a machine that has other work
STOP_WITHIN = 60  # seconds: well past the server's --workers-kill-timeout (20 s)


def workers(pid: int) -> set[int]:
    """The worker processes of the granian main process ``pid``."""
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


@dataclass
class Load:
    """CLIENTS kept-alive clients creating items, and one /health poller on fresh connections."""

    base_url: str
    token: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    answered: dict[str, int] = field(default_factory=dict)  # item name -> status
    failures: list[tuple[float, str, str]] = field(default_factory=list)  # (when, name, error)
    health: list[tuple[float, int | str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # While set, a create whose kept-alive connection was closed with no answer is sent again.
    retry_closed: threading.Event = field(default_factory=threading.Event)
    resent: list[tuple[float, str]] = field(default_factory=list)  # (when, name)

    def start(self) -> None:
        self.threads = [threading.Thread(target=self.creates, args=(n,)) for n in range(CLIENTS)]
        self.threads.append(threading.Thread(target=self.probe))
        for thread in self.threads:
            thread.start()

    def creates(self, client: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=60) as http:
            count = 0
            while not self.stop.is_set():
                name = f"{self.run}-{client}-{count}"
                count += 1
                try:
                    try:
                        status = http.post("/api/v1/items", json={"name": name}).status_code
                    except httpx.RemoteProtocolError:
                        if not self.retry_closed.is_set():
                            raise
                        with self.lock:
                            self.resent.append((time.monotonic(), name))
                        status = http.post("/api/v1/items", json={"name": name}).status_code
                    with self.lock:
                        self.answered[name] = status
                except httpx.TransportError as error:
                    with self.lock:
                        self.failures.append((time.monotonic(), name, repr(error)))
                time.sleep(PAUSE)

    def probe(self) -> None:
        while not self.stop.is_set():
            try:
                outcome: int | str = httpx.get(f"{self.base_url}/health", timeout=30).status_code
            except httpx.TransportError as error:
                outcome = repr(error)
            with self.lock:
                self.health.append((time.monotonic(), outcome))
            time.sleep(0.05)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def since(self, moment: float) -> tuple[list[tuple[float, str, str]], list[tuple[float, int | str]]]:
        with self.lock:
            failed = [failure for failure in self.failures if failure[0] >= moment]
            health = [answer for answer in self.health if answer[0] >= moment and answer[1] != 200]
        return failed, health


@pytest.fixture(params=FRAMEWORKS)
def service(
    cookies: Any, tmp_path: Path, database_url: Any, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    baked = bake(cookies, request.param, database="postgresql", use_auth=True)
    url = database_url("postgresql")
    settings = {"ENVIRONMENT": "production", "DATABASE_URL": url, "SECRET_KEY": uuid.uuid4().hex * 2}
    migrate(baked, settings)
    port = free_port()
    log = tmp_path / "server.log"
    process = start_server(baked, log, settings, port)
    base_url = f"http://127.0.0.1:{port}"
    try:
        email, password = f"ops-{uuid.uuid4().hex[:8]}@example.com", "a long enough password"
        assert (
            httpx.post(
                f"{base_url}/api/v1/auth/register", json={"email": email, "password": password}, timeout=60
            ).status_code
            == 201
        )
        answer = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": email, "password": password}, timeout=60)
        yield {
            "framework": request.param,
            "process": process,
            "base_url": base_url,
            "token": answer.json()["access_token"],
            "log": log,
            "database": url.rsplit("/", 1)[1],
        }
    finally:
        stop_server(process)


def stored_names(database: str, run: str) -> set[str]:
    return set(stored_counts(database, run))


def stored_counts(database: str, run: str) -> dict[str, int]:
    """How many rows each item name of the run has."""
    with connect("postgresql", database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT name, count(*) FROM items WHERE name LIKE %s GROUP BY name", (f"{run}-%",))
        return {name: count for name, count in cursor.fetchall()}


def wait_until(condition: Any, within: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < within, f"{what}: not within {within} s"
        time.sleep(0.05)
    return time.monotonic() - start


def test_a_killed_worker_is_replaced_and_the_service_keeps_answering(service: dict[str, Any]) -> None:
    process: subprocess.Popen[bytes] = service["process"]
    load = Load(service["base_url"], service["token"])
    load.start()
    try:
        time.sleep(2)
        before = workers(process.pid)
        assert len(before) == 2, before
        victim = min(before)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        # Replaced: a new worker process, and it answers (the log says it started).
        replaced = wait_until(
            lambda: process.poll() is None and len(workers(process.pid) - before) == 1,
            60,
            "a new worker process",
        )
        started = wait_until(
            lambda: service["log"].read_text().count("Started worker") >= 3,
            60,
            "the new worker serving",
        )
        time.sleep(3)
        assert process.poll() is None, "the server exited after one worker died:\n" + service["log"].read_text()[-3000:]
    finally:
        load.finish()
    failed, health = load.since(killed_at)
    print(
        f"{service['framework']}: worker {victim} killed; a new process after {replaced:.2f} s, serving after "
        f"{started:.2f} s; {len(load.answered)} creates answered, {len(failed)} lost in flight, "
        f"{len(health)} /health failures"
    )
    # Only what the dead worker held at that instant: at most one request per client.
    assert len(failed) <= CLIENTS, failed
    assert not health or len(health) <= 1, health
    # Nothing later than the kill's aftermath failed: the service kept answering.
    assert all(when - killed_at < 1 for when, _, _ in failed), failed
    stored = stored_names(service["database"], load.run)
    assert {name for name, status in load.answered.items() if status == 201} <= stored


def test_reload_drops_nothing_and_a_stop_right_after_ends_in_time(service: dict[str, Any]) -> None:
    process: subprocess.Popen[bytes] = service["process"]
    load = Load(service["base_url"], service["token"])
    load.retry_closed.set()
    load.start()
    try:
        time.sleep(2)
        before = workers(process.pid)
        reload_at = time.monotonic()
        os.kill(process.pid, signal.SIGHUP)
        reloaded = wait_until(
            lambda: not (workers(process.pid) & before) and len(workers(process.pid)) == 2,
            120,
            "both workers replaced after SIGHUP",
        )
        time.sleep(2)
        reload_failed, reload_health = load.since(reload_at)
        answered_before_stop = len(load.answered)
        # From here on nothing is sent twice, so that an unanswered create stays unanswered.
        load.retry_closed.clear()
        # A second reload, and SIGTERM one second into it: the case that hung.
        os.kill(process.pid, signal.SIGHUP)
        time.sleep(1)
        stop_at = time.monotonic()
        process.terminate()
        # The balancer stops sending once the server is told to stop; what is in flight finishes.
        load.stop.set()
        try:
            process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"the server did not exit within {STOP_WITHIN} s of SIGTERM:\n{service['log'].read_text()[-3000:]}"
            )
        stopped = time.monotonic() - stop_at
    finally:
        load.finish()
    stop_failed, _ = load.since(stop_at)
    counts = stored_counts(service["database"], load.run)
    stored = set(counts)
    created = {name for name, status in load.answered.items() if status == 201}
    resent = [name for when, name in load.resent if when >= reload_at]
    unanswered_but_stored = {name for _, name, _ in load.failures} & stored
    print(
        f"{service['framework']}: reload under load took {reloaded:.1f} s with {len(reload_failed)} failed creates "
        f"and {len(reload_health)} failed /health ({answered_before_stop} creates answered, {len(resent)} of them sent "
        "again after their kept-alive connection was closed); stop right after a "
        f"reload took {stopped:.1f} s, {len(stop_failed)} creates unanswered, {len(unanswered_but_stored)} of "
        "them stored"
    )
    assert not reload_failed and not reload_health, (reload_failed[:5], reload_health[:5])
    # A create sent again had never been read: no item is stored twice.
    assert all(count == 1 for count in counts.values()), {name: n for name, n in counts.items() if n > 1}
    assert all(load.answered.get(name) == 201 for name in resent), resent
    assert all(status == 201 for status in load.answered.values()), set(load.answered.values())
    assert created <= stored, "an answered create was lost"
    assert not unanswered_but_stored, f"creates done without their answer: {sorted(unanswered_but_stored)[:5]}"
