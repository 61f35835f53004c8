"""Replicas behind HAProxy: throughput with 1, 2 and 3 replicas of each framework's service
(PostgreSQL, auth), through the balancer the tests use (tests/harness.py)."""

from __future__ import annotations

import functools
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.baking import Project, migrate, project_env
from benchmarks.databases import Postgres
from benchmarks.load import login, seed, wrk, wrk_script
from benchmarks.plan import REPLICA_CONCURRENCY, REPLICA_COUNTS, REPLICA_ROUTE, Plan, Recorder
from benchmarks.processes import PROCESSES, say
from benchmarks.servers import FRAMEWORKS, Served, serve, shipped
from tests.harness import Balancer


def measure_replicas(
    plan: Plan,
    repeat: int,
    projects: dict[tuple[str, str, bool], Project],
    work: Path,
    postgres: Postgres,
    recorder: Recorder,
) -> None:
    """Throughput through HAProxy with 1, 2 and 3 replicas of each framework's service."""
    frameworks = list(FRAMEWORKS) if repeat % 2 == 0 else list(reversed(FRAMEWORKS))
    for framework in frameworks:
        recorder.attempt(
            f"replicas of {framework} behind HAProxy",
            functools.partial(
                replicas_session, plan, repeat, projects[(framework, "postgresql", True)], work, postgres, recorder
            ),
        )


def replicas_session(
    plan: Plan, repeat: int, project: Project, work: Path, postgres: Postgres, recorder: Recorder
) -> None:
    server = shipped(project.framework)
    # The same settings for every replica, as a deployment gives them: one database, one secret.
    env = project_env(
        project.path, ENVIRONMENT="production", DATABASE_URL=postgres.create(), SECRET_KEY=secrets.token_hex(32)
    )
    migrate(project, env)  # once, before the replicas start
    replicas: list[Served] = []
    balancer: Balancer | None = None
    try:
        # Started side by side, as a deployment would; a replica that fails to start fails the session.
        with ThreadPoolExecutor(max(REPLICA_COUNTS)) as starting:
            started = [
                starting.submit(serve, server, f"replica{i + 1}", project.target, project.path, env, work, plan.workers)
                for i in range(max(REPLICA_COUNTS))
            ]
        failed = [error for error in (future.exception() for future in started) if error is not None]
        replicas.extend(future.result() for future in started if future.exception() is None)
        if failed:
            raise failed[0]
        token = login(replicas[0].url)
        item_id = seed(replicas[0].url, token)
        balancer = Balancer([served.port for served in replicas], work)
        PROCESSES.running[balancer.process.pid] = balancer.process
        pids = [served.process.pid for served in replicas]  # CPU per request: all replicas together
        script = wrk_script(work, token=token)
        path = f"/api/v1/items/{item_id}"
        counts = REPLICA_COUNTS if repeat % 2 == 0 else tuple(reversed(REPLICA_COUNTS))
        balancer.use(max(REPLICA_COUNTS))
        wrk(f"{balancer.url}{path}", REPLICA_CONCURRENCY, plan.warmup, script, pids)
        for count in counts:
            balancer.use(count)
            result = wrk(f"{balancer.url}{path}", REPLICA_CONCURRENCY, plan.duration, script, pids)
            recorder.run(
                kind="replicas",
                framework=project.framework,
                server=server.key,
                app="generated",
                route=REPLICA_ROUTE,
                database="postgresql",
                auth=True,
                concurrency=REPLICA_CONCURRENCY,
                replicas=count,
                repeat=repeat,
                **result,
            )
            say(
                f"  {project.framework:7} {count} replica(s) x {plan.workers} worker behind HAProxy "
                f"c={REPLICA_CONCURRENCY} {result['rps']:8.0f} req/s  p99 {result['p99_ms']:7.1f} ms  "
                f"errors {result['errors']}"
            )
    finally:
        PROCESSES.stop_many([served.process for served in replicas] + ([balancer.process] if balancer else []))
