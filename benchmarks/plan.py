"""What one run measures, and the sessions that measure it: `/health` under each server, and
the items routes of the generated service beside a bare and a minimal app of its framework."""

from __future__ import annotations

import functools
import json
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.baking import Project, migrate, project_env
from benchmarks.databases import Postgres
from benchmarks.load import login, seed, slow_clients, wrk, wrk_script
from benchmarks.processes import PROCESSES, bounded, say
from benchmarks.servers import (
    ALTERNATIVE_ITEMS_SERVER,
    FRAMEWORKS,
    Served,
    Server,
    serve,
    server_by_key,
    shipped,
)
from tests.harness import tail

CONCURRENCIES = (1, 32, 256)
HEADLINE_CONCURRENCY = 32
# The hand-written apps beside the generated service (benchmarks/apps/, see its README).
APPS = Path(__file__).resolve().parent / "apps"
ROUTES = ("GET /health", "GET /api/v1/items/{id}", "GET /api/v1/items?limit=20", "POST /api/v1/items")
ITEM_ROUTES = ROUTES[1:]
# The replicas row: this many replicas at most behind HAProxy, driven at this many connections.
REPLICA_COUNTS = (1, 2, 3)
REPLICA_CONCURRENCY = 64
REPLICA_ROUTE = "GET /api/v1/items/{id}"


@dataclass
class Plan:
    duration: int
    warmup: int
    repeat: int
    workers: int
    concurrencies: tuple[int, ...]
    servers: tuple[Server, ...]
    databases: tuple[str, ...]
    auths: tuple[bool, ...]
    bakes: int
    test_suites: bool
    smoke: bool
    working_tree: bool
    replicas: bool = True  # the replicas row (PostgreSQL, HAProxy)
    only_replicas: bool = False  # that row alone
    only_items: bool = False  # the items routes alone (generated, minimal and bare apps)
    notes: list[str] = field(default_factory=list)

    def seconds(self, concurrency: int) -> int:
        """Seconds of one wrk run: one connection settles fastest, so it gets half the time."""
        return self.duration if concurrency > 1 else max(1, self.duration // 2)

    def estimate_minutes(self) -> float:
        """Calibrated on the development machine (2 shared cores): about 0.5 s around each run and
        130 s per repeat for starting, seeding and stopping servers and timing the test suites."""
        per_app = sum(self.seconds(c) + 0.5 for c in self.concurrencies)
        health = sum(per_app * (3 if s.shipped else 2) for s in self.servers)
        # Every items session runs four routes; with auth, the minimal and bare apps run them too, at one load.
        sessions = len(FRAMEWORKS) * len(self.databases) * len(self.auths) + 1
        others = len(FRAMEWORKS) * len(self.databases) * self.auths.count(True) * 2
        database = sessions * 4 * per_app + others * 4 * (self.seconds(HEADLINE_CONCURRENCY) + 0.5)
        # The replicas row: three replicas and HAProxy started per framework (about 25 s), then one run per count.
        replicas = len(FRAMEWORKS) * (25 + len(REPLICA_COUNTS) * (self.duration + 1.5)) if self.replicas else 0
        if self.only_replicas:
            return (self.repeat * replicas + 20) / 60
        if self.only_items:
            return (self.repeat * database + 20) / 60
        per_repeat = health + database + replicas + (130 if self.test_suites else 30)
        return (self.repeat * per_repeat + self.bakes * 2 * 0.3) / 60


class Recorder:
    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.servers: list[dict[str, Any]] = []
        self.failures: list[dict[str, str]] = []

    def run(self, **fields: Any) -> dict[str, Any]:
        self.runs.append(fields)
        return fields

    def attempt(self, what: str, measurement: Callable[[], None]) -> None:
        """Run one measurement; a failure is recorded and reported, and the run goes on with the rest."""
        try:
            measurement()
        except Exception as error:  # one broken candidate must not lose the other figures
            self.failures.append({"what": what, "error": f"{error.__class__.__name__}: {error}"[:4000]})
            say(f"  FAILED: {what}: {str(error).splitlines()[0] if str(error) else error.__class__.__name__}")


def measure_health(
    plan: Plan, repeat: int, projects: dict[tuple[str, str, bool], Project], work: Path, recorder: Recorder
) -> None:
    """GET /health of the generated service and of a bare app, same server, same run, under each server."""
    for server in plan.servers:
        recorder.attempt(
            f"/health under {server.key}",
            functools.partial(health_session, plan, repeat, server, projects, work, recorder),
        )


def health_session(
    plan: Plan,
    repeat: int,
    server: Server,
    projects: dict[tuple[str, str, bool], Project],
    work: Path,
    recorder: Recorder,
) -> None:
    generated = projects[(server.framework, "sqlite", True)]
    apps: list[tuple[str, str, Path, dict[str, str]]] = [
        (
            "generated",
            generated.target,
            generated.path,
            project_env(
                generated.path,
                ENVIRONMENT="production",
                DATABASE_URL=f"sqlite:///{work / f'health-{server.key}-{repeat}.db'}",
            ),
        ),
        ("bare", f"bare_{server.framework}:app", APPS, project_env(APPS)),
    ]
    nodb = projects.get((server.framework, "none", False))
    if server.shipped and nodb is not None:
        apps.append(("generated-nodb", nodb.target, nodb.path, project_env(nodb.path, ENVIRONMENT="production")))
    if repeat % 2:
        apps.reverse()  # alternate who goes first, so drift in the machine's load evens out
    started: list[tuple[str, Served]] = []
    try:
        for app, target, cwd, env in apps:
            served = serve(server, app, target, cwd, env, work, plan.workers)
            started.append((app, served))
            recorder.servers.append(
                {
                    "framework": server.framework,
                    "server": server.key,
                    "app": app,
                    "repeat": repeat,
                    "startup_s": served.startup_s,
                }
            )
        script = wrk_script(work)
        for _app, served in started:
            wrk(f"{served.url}/health", 32, plan.warmup, script, [served.process.pid])
        for concurrency in plan.concurrencies:
            for app, served in started:
                result = wrk(
                    f"{served.url}/health", concurrency, plan.seconds(concurrency), script, [served.process.pid]
                )
                recorder.run(
                    kind="health",
                    framework=server.framework,
                    server=server.key,
                    app=app,
                    route="GET /health",
                    database="sqlite" if app == "generated" else "none",
                    auth=False,
                    concurrency=concurrency,
                    repeat=repeat,
                    **result,
                )
                say(
                    f"  {server.framework:7} {server.key:17} {app:15} c={concurrency:<3} "
                    f"{result['rps']:8.0f} req/s  p99 {result['p99_ms']:7.1f} ms  errors {result['errors']}"
                )
        for app, served in started:
            robust = slow_clients(served)
            record = next(
                r
                for r in reversed(recorder.servers)
                if r["server"] == server.key and r["app"] == app and r["repeat"] == repeat
            )
            record["slow_clients"] = robust
            if app == "generated":
                verdict = f"answered in {robust['seconds']:.3f} s" if robust["answered"] else "NOT answered"
                say(f"  {server.framework:7} {server.key:17} slow clients: {verdict}")
    finally:
        PROCESSES.stop_many([served.process for _app, served in started])


def measure_database(
    plan: Plan,
    repeat: int,
    projects: dict[tuple[str, str, bool], Project],
    work: Path,
    postgres: Postgres | None,
    recorder: Recorder,
) -> None:
    """The items routes under each framework's shipped server, per database and auth choice."""
    for database in plan.databases:
        if database == "postgresql" and postgres is None:
            continue
        for auth in plan.auths:
            candidates = [(framework, shipped(framework)) for framework in FRAMEWORKS]
            if database == plan.databases[-1] and auth and not plan.only_items:
                # One more Flask server on the last database with auth: does the shipped thread pool pay off there?
                candidates.append(("flask", server_by_key(ALTERNATIVE_ITEMS_SERVER)))
            if repeat % 2:
                candidates.reverse()
            for framework, server in candidates:
                recorder.attempt(
                    f"items routes of {framework} under {server.key} on {database}, auth {auth}",
                    functools.partial(
                        items_session,
                        plan,
                        repeat,
                        framework,
                        server,
                        database,
                        auth,
                        projects,
                        work,
                        postgres,
                        recorder,
                    ),
                )


def items_session(
    plan: Plan,
    repeat: int,
    framework: str,
    server: Server,
    database: str,
    auth: bool,
    projects: dict[tuple[str, str, bool], Project],
    work: Path,
    postgres: Postgres | None,
    recorder: Recorder,
) -> None:
    """The routes of the generated service on a fresh database; with auth and the shipped server,
    also those of the minimal app (the same work, hand-written) on the same database and of the
    bare app (the framework alone), taking turns with it on every route at HEADLINE_CONCURRENCY."""
    project = projects[(framework, database, auth)]
    if database == "postgresql" and postgres is not None:
        url = postgres.create()
    else:
        url = f"sqlite:///{work / f'items-{framework}-{server.key}-{auth}-{repeat}.db'}"
    # One secret for all three apps: the minimal app decodes the tokens the generated service issues.
    settings = {"ENVIRONMENT": "production", "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32)}
    env = project_env(project.path, **settings)
    migrate(project, env)
    apps = [("generated", project.target, project.path, env)]
    if auth and server.shipped:
        apps += [
            ("minimal", f"minimal_{framework}:app", APPS, project_env(APPS, **settings)),
            ("bare", f"bare_{framework}:app", APPS, project_env(APPS)),
        ]
    if repeat % 2:
        apps.reverse()  # alternate who goes first, so drift in the machine's load evens out
    started: list[tuple[str, Served]] = []
    try:
        for app, target, cwd, app_env in apps:
            served = serve(server, f"items-{app}-{database}", target, cwd, app_env, work, plan.workers)
            started.append((app, served))
            recorder.servers.append(
                {
                    "framework": framework,
                    "server": server.key,
                    "app": f"items-{database}-{auth}" if app == "generated" else f"items-{app}-{database}",
                    "repeat": repeat,
                    "startup_s": served.startup_s,
                }
            )
        generated = next(served for app, served in started if app == "generated")
        token = login(generated.url) if auth else None
        item_id = seed(generated.url, token)
        get = wrk_script(work, token=token)
        post = wrk_script(work, "POST", json.dumps({"name": "bench", "description": "load"}), token)
        paths = {
            "GET /health": ("/health", get),
            "GET /api/v1/items/{id}": (f"/api/v1/items/{item_id}", get),
            "GET /api/v1/items?limit=20": ("/api/v1/items?limit=20", get),
            "POST /api/v1/items": ("/api/v1/items", post),
        }
        for _app, served in started:
            wrk(f"{served.url}{paths[ITEM_ROUTES[0]][0]}", 32, plan.warmup, get, [served.process.pid])
        # Reads first, at every concurrency, on the seeded table; the writes that grow it last.
        for route in ROUTES:
            path, script = paths[route]
            for concurrency in plan.concurrencies:
                for app, served in started:
                    if app != "generated" and concurrency != HEADLINE_CONCURRENCY:
                        continue  # the framework-or-template comparison is made at one load
                    result = wrk(
                        f"{served.url}{path}", concurrency, plan.seconds(concurrency), script, [served.process.pid]
                    )
                    recorder.run(
                        kind="items",
                        framework=framework,
                        server=server.key,
                        app=app,
                        route=route,
                        database=database,
                        auth=auth,
                        concurrency=concurrency,
                        repeat=repeat,
                        **result,
                    )
                    say(
                        f"  {framework:7} {server.key:15} {database:10} {'auth' if auth else 'noauth':6} "
                        f"{app:9} {route:27} c={concurrency:<3} {result['rps']:8.0f} req/s  "
                        f"{result['cpu_ms_per_request']:5.2f} CPU ms/req  p99 {result['p99_ms']:7.1f} ms  "
                        f"errors {result['errors']}"
                    )
                    if result["errors"]:
                        errors = [line for line in tail(served.log, 20000).splitlines() if "Error" in line]
                        if errors:
                            say(f"    last error in the log: {errors[-1][:300]}")
    finally:
        PROCESSES.stop_many([served.process for _app, served in started])


def time_test_suite(project: Project, into: list[float]) -> None:
    """Time the project's own tests (``pytest``, as its README runs them) and append the seconds to ``into``."""
    env = project_env(project.path)
    start = time.perf_counter()
    code, output = bounded(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], timeout=600, cwd=project.path, env=env
    )
    seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"the {project.framework} project's own tests failed:\n{output[-3000:]}")
    into.append(seconds)
