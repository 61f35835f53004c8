"""Three replicas of a service behind HAProxy, as the generated READMEs' "Scaling out" says.

Each framework, PostgreSQL with auth: the schema is migrated once, then three replicas run
under the shipped production server (granian), all with the same SECRET_KEY, DATABASE_URL
and REDIS_URL, behind Debian's HAProxy (roundrobin, health checks on `/health`). Then:

- a token issued through one replica is accepted by every replica;
- the login rate limit counts across replicas (its counters live in Redis);
- 2,000 creates from 64 clients through the balancer: every one 201 and stored exactly once;
- one replica SIGKILLed in the middle of a create run: HAProxy marks it DOWN and stops
  sending to it, every 201 is stored, failures are at most the requests that replica could
  have had in flight (its `maxconn`); started again on its port, it is marked UP and serves.

HAProxy retries only connections that failed to open (`retry-on conn-failure`, its
default, redispatched to another server): such a request never reached a replica, so a
create cannot be stored twice. A request that reached the killed replica is not re-sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import FRAMEWORKS, Baked, bake, connect, require_tool
from tests.harness import HAPROXY, Balancer, free_port, stop_server
from tests.serving import migrate, start_server

REPLICAS = 3
WORKERS = 1  # per replica: three replicas already share two cores
SERVER_MAXCONN = 16  # requests HAProxy lets one replica have in flight at once
CREATES = 2_000
CLIENTS = 64
RATE = 5
# Each framework has its own Redis database, flushed at its start (no other test uses them),
# and its own loopback addresses for the test's clients, which HAProxy forwards.
REDIS_DB = {"fastapi": 13, "flask": 14}
CLIENT_NET = {"fastapi": "127.0.10", "flask": "127.0.20"}


@dataclass
class Cluster:
    baked: Baked
    tmp: Path
    settings: dict[str, str]
    ports: list[int]
    processes: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    haproxy: Balancer | None = None

    @property
    def balancer(self) -> str:
        assert self.haproxy is not None
        return self.haproxy.url

    def name(self, index: int) -> str:
        return f"r{index + 1}"

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def start(self, index: int) -> None:
        log = self.tmp / f"{self.name(index)}.log"
        self.processes[index] = start_server(self.baked, log, self.settings, self.ports[index], WORKERS)

    def kill(self, index: int) -> None:
        """SIGKILL the replica's whole process group: the server and its workers, no goodbye."""
        process = self.processes[index]
        assert process is not None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        self.processes[index] = None

    def stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's `show stat` per server of the backend, read from its admin socket."""
        assert self.haproxy is not None
        return self.haproxy.stats()

    def status(self, index: int) -> str:
        return self.stats()[self.name(index)]["status"]

    def sent(self, index: int) -> int:
        """Requests HAProxy has sent to the replica so far (its `stot`)."""
        return int(self.stats()[self.name(index)]["stot"])

    def wait_for(self, index: int, status: str, within: float) -> float:
        start = time.monotonic()
        while not self.status(index).startswith(status):
            assert time.monotonic() - start < within, f"{self.name(index)} not {status} within {within} s"
            time.sleep(0.05)
        return time.monotonic() - start


def client_address(framework: str, host: int) -> str:
    return f"{CLIENT_NET[framework]}.{host}"


def client(framework: str, host: int, base_url: str) -> httpx.Client:
    """A client whose requests come from its own loopback address (127.0.x.host)."""
    transport = httpx.HTTPTransport(local_address=client_address(framework, host))
    return httpx.Client(base_url=base_url, transport=transport, timeout=60)


def async_client(framework: str, host: int, base_url: str, headers: dict[str, str]) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    transport = httpx.AsyncHTTPTransport(local_address=client_address(framework, host), limits=limits)
    return httpx.AsyncClient(base_url=base_url, headers=headers, transport=transport, timeout=60)


@pytest.fixture
def cluster(cookies: Any, tmp_path: Path, database_url: Any, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    framework: str = request.param
    require_tool(HAPROXY, "haproxy is not installed: sudo apt-get install -y haproxy (.ci/run installs it)")
    redis_db = REDIS_DB[framework]
    subprocess.run(["redis-cli", "-n", str(redis_db), "flushdb"], check=True, capture_output=True, timeout=10)
    baked = bake(cookies, framework, database="postgresql", use_auth=True)
    settings = {
        "ENVIRONMENT": "production",
        "DATABASE_URL": database_url("postgresql"),
        "SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "LOGIN_RATE_LIMIT": f"{RATE}/minute",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",  # HAProxy's address: its X-Forwarded-For is believed
        # About writes and failover, not about timeouts on a machine shared with other tests.
        "DATABASE_TIMEOUT": "30",
    }
    migrate(baked, settings)  # once, before any replica starts
    ports = [free_port() for _ in range(REPLICAS)]
    made = Cluster(baked, tmp_path, settings, ports, [None] * REPLICAS)
    try:
        starters = [threading.Thread(target=made.start, args=(index,)) for index in range(REPLICAS)]
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join()
        assert all(made.processes), "a replica did not start (see the assertion above)"
        made.haproxy = balancer = Balancer(
            ports,
            tmp_path,
            options=("option forwardfor", "http-response set-header X-Replica %[srv_name]"),
            server_options=f"maxconn {SERVER_MAXCONN}",
        )
        balancer.wait(lambda: set(balancer.statuses().values()) == {"UP"}, "every replica UP")
        yield made
    finally:
        if made.haproxy is not None:
            made.haproxy.stop()
        for process in made.processes:
            if process is not None:
                stop_server(process)


def register_and_login(framework: str, base_url: str) -> dict[str, str]:
    email, password = "replica@example.com", "replica-password-1"
    with client(framework, 2, base_url) as http:
        created = http.post("/api/v1/auth/register", json={"email": email, "password": password})
        assert created.status_code == 201, created.text
        answer = http.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert answer.status_code == 200, answer.text
    print(f"token issued by {answer.headers['X-Replica']}")
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def check_token_everywhere(cluster: Cluster, headers: dict[str, str], framework: str) -> None:
    users = []
    for index in range(REPLICAS):
        with client(framework, 2, cluster.url(index)) as http:
            me = http.get("/api/v1/users/me", headers=headers)
        assert me.status_code == 200, f"{cluster.name(index)} refused the token: {me.status_code} {me.text}"
        users.append(me.json()["id"])
    assert len(set(users)) == 1, users


def check_rate_limit_shared(cluster: Cluster, framework: str) -> None:
    """RATE failed logins through the balancer (spread over the replicas) use up the address's
    allowance: the next one is 429 through the balancer and directly at every replica. Each
    attempt names a new email, so only the per-address counter is at work."""

    def attempt(http: httpx.Client, number: int) -> httpx.Response:
        form = {"username": f"nobody{number}@example.com", "password": "wrong-password"}
        return http.post("/api/v1/auth/token", data=form)

    served_by = []
    with client(framework, 3, cluster.balancer) as http:
        for number in range(RATE):
            answer = attempt(http, number)
            assert answer.status_code == 401, f"attempt {number + 1}: {answer.status_code} {answer.text}"
            served_by.append(answer.headers["X-Replica"])
        sixth = attempt(http, RATE)
    assert len(set(served_by)) > 1, f"the attempts all reached {served_by[0]}: nothing shown across replicas"
    assert max(Counter(served_by).values()) < RATE  # no replica alone saw enough attempts to refuse
    assert sixth.status_code == 429, f"attempt {RATE + 1} through the balancer: {sixth.status_code} {sixth.text}"
    assert sixth.headers.get("Retry-After")
    for index in range(REPLICAS):
        with client(framework, 3, cluster.url(index)) as http:
            direct = attempt(http, RATE + 1 + index)
        assert direct.status_code == 429, f"{cluster.name(index)} directly: {direct.status_code} {direct.text}"
    # Another client address is not limited.
    with client(framework, 4, cluster.balancer) as http:
        assert attempt(http, 99).status_code == 401
    print(
        f"login rate limit {RATE}/minute: attempts served by {served_by}, attempt {RATE + 1} answered 429 "
        f"by {sixth.headers['X-Replica']}, and 429 directly at every replica"
    )


@dataclass
class Run:
    """A create run: the name of every 201, every other answer and transport error."""

    created: dict[str, int] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    served_by: Counter[str] = field(default_factory=Counter)
    answered: int = 0

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


async def create_run(
    framework: str, base_url: str, headers: dict[str, str], prefix: str, count: int | None, stop: threading.Event
) -> Run:
    """Creates from CLIENTS clients, ``count`` of them or until ``stop`` is set."""
    run = Run()
    numbers = iter(range(count if count is not None else 10**9))

    async def loop(http: httpx.AsyncClient) -> None:
        for number in numbers:
            if stop.is_set():
                return
            name = f"{prefix}-{number:06d}"
            try:
                answer = await http.post("/api/v1/items", json={"name": name})
            except httpx.TransportError as error:
                run.failures[f"transport: {error.__class__.__name__}"] += 1
                continue
            finally:
                run.answered += 1
            if answer.status_code == 201:
                run.created[name] = answer.json()["id"]
                run.served_by[answer.headers.get("X-Replica", "?")] += 1
            else:
                run.failures[f"HTTP {answer.status_code}"] += 1

    async with async_client(framework, 5, base_url, headers) as http:
        await asyncio.gather(*(loop(http) for _ in range(CLIENTS)))
    return run


def stored(database_url: str, prefix: str) -> Counter[str]:
    """How many rows each item name of the run has in the database."""
    name = database_url.rsplit("/", 1)[1]
    with connect("postgresql", name) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT name, id FROM items WHERE name LIKE %s", (f"{prefix}-%",))
        rows = cursor.fetchall()
    return Counter(row[0] for row in rows)


def check_creates(cluster: Cluster, headers: dict[str, str], framework: str) -> None:
    start = time.monotonic()
    run = asyncio.run(create_run(framework, cluster.balancer, headers, "load", CREATES, threading.Event()))
    seconds = time.monotonic() - start
    rows = stored(cluster.settings["DATABASE_URL"], "load")
    print(
        f"{CREATES} creates from {CLIENTS} clients through HAProxy in {seconds:.1f} s: {len(run.created)} answered "
        f"201 (by replica {dict(sorted(run.served_by.items()))}), failures {dict(run.failures)}; "
        f"{sum(rows.values())} rows stored, {len(rows)} distinct"
    )
    assert not run.failures, dict(run.failures)
    assert len(run.created) == CREATES
    assert set(rows) == set(run.created), "stored names differ from the 201 answers"
    assert all(count == 1 for count in rows.values()), [n for n, c in rows.items() if c > 1][:5]
    assert len(set(run.served_by)) == REPLICAS, run.served_by


def check_replica_killed(cluster: Cluster, headers: dict[str, str], framework: str) -> None:
    victim = 1
    stop = threading.Event()
    results: list[Run] = []
    load = threading.Thread(
        target=lambda: results.append(asyncio.run(create_run(framework, cluster.balancer, headers, "kill", None, stop)))
    )
    load.start()
    try:
        # The run has to be under way: wait until HAProxy has sent the victim some of it.
        before = cluster.sent(victim)
        deadline = time.monotonic() + 60
        while cluster.sent(victim) < before + 100:
            assert load.is_alive() and time.monotonic() < deadline, "the create run did not reach the victim"
            time.sleep(0.05)
        cluster.kill(victim)
        down_after = cluster.wait_for(victim, "DOWN", within=20)
        sent_when_down = cluster.sent(victim)
        # Let the run go on without it: HAProxy must send it nothing more.
        others = [i for i in range(REPLICAS) if i != victim]
        others_before = sum(cluster.sent(i) for i in others)
        while sum(cluster.sent(i) for i in others) < others_before + 300:
            assert load.is_alive(), "the create run stopped"
            time.sleep(0.05)
        assert cluster.sent(victim) == sent_when_down, "HAProxy went on sending to a replica marked DOWN"
        assert cluster.status(victim).startswith("DOWN")

        restarted_at = time.monotonic()
        cluster.start(victim)  # same port, same settings; returns once its /health answers
        process_ready = time.monotonic() - restarted_at
        up_after = cluster.wait_for(victim, "UP", within=20) + process_ready
        rejoined_with = cluster.sent(victim)
        deadline = time.monotonic() + 60
        while cluster.sent(victim) < rejoined_with + 50:
            assert load.is_alive() and time.monotonic() < deadline, "the restarted replica got no requests"
            time.sleep(0.05)
    finally:
        stop.set()
        load.join(timeout=120)
    assert results, "the create run did not finish"
    run = results[0]
    rows = stored(cluster.settings["DATABASE_URL"], "kill")
    stored_unanswered = set(rows) - set(run.created)
    print(
        f"replica {cluster.name(victim)} SIGKILLed mid-run: marked DOWN {down_after:.2f} s after the kill. "
        f"Creates sent {run.answered}, answered 201 {len(run.created)}, rows stored {sum(rows.values())}; lost when it "
        f"died: {run.failed} {dict(run.failures)} (bound: its maxconn {SERVER_MAXCONN}); stored without a 201: "
        f"{len(stored_unanswered)}. Restarted on its port: /health answered after {process_ready:.2f} s, marked "
        f"UP {up_after:.2f} s after the restart began, then served {cluster.sent(victim) - rejoined_with} requests"
    )
    assert set(run.created) <= set(rows), "a create answered 201 is not stored"
    assert all(count == 1 for count in rows.values()), [n for n, c in rows.items() if c > 1][:5]
    assert run.failed <= SERVER_MAXCONN, dict(run.failures)
    assert len(stored_unanswered) <= run.failed


@pytest.mark.slow
@pytest.mark.scale
@pytest.mark.parametrize("cluster", FRAMEWORKS, indirect=True)
def test_three_replicas_behind_haproxy(cluster: Cluster) -> None:
    framework = cluster.baked.framework
    print(f"\n{framework}: {REPLICAS} replicas x {WORKERS} worker behind HAProxy at {cluster.balancer}")
    headers = register_and_login(framework, cluster.balancer)
    check_token_everywhere(cluster, headers, framework)
    check_rate_limit_shared(cluster, framework)
    check_creates(cluster, headers, framework)
    check_replica_killed(cluster, headers, framework)
