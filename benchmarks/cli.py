"""Flask or FastAPI? Measured: the command.

Bakes a FastAPI and a Flask project with the same answers, serves each under every
candidate production server on loopback, drives load with wrk and writes ``results.json``,
``results.md`` and ``results.png`` (see benchmarks/README.md).

    .venv/bin/python -m benchmarks            # the full run, about 30 minutes on 2 cores
    .venv/bin/python -m benchmarks --smoke    # a few minutes' check that everything starts

Every process it starts runs in a process group of its own and is stopped when the run
ends, fails or is interrupted; every wait has a time limit. PostgreSQL databases are
created for the run on the server of ``TEMPLATE_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) and dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import servers
from benchmarks.answer import headline
from benchmarks.baking import Project, bake_project, export_templates, time_bakes
from benchmarks.databases import POSTGRES_URL, Postgres
from benchmarks.load import WRK_TIMEOUT
from benchmarks.output import DEFAULT_OUT, write_outputs
from benchmarks.plan import (
    CONCURRENCIES,
    HEADLINE_CONCURRENCY,
    REPLICA_CONCURRENCY,
    Plan,
    Recorder,
    measure_database,
    measure_health,
    time_test_suite,
)
from benchmarks.processes import PROCESSES, bounded, say, terminate
from benchmarks.replicas import measure_replicas
from benchmarks.servers import FRAMEWORKS, SERVERS, SMOKE_SERVERS
from benchmarks.summaries import select, summarise
from tests.baking import BIN, ROOT
from tests.harness import HAPROXY, haproxy_version

BENCHMARK_PACKAGES = ("gunicorn", "uvicorn", "uvicorn_worker", "waitress", "granian", "psutil", "matplotlib", "httpx")
VERSIONS = (
    "fastapi",
    "starlette",
    "pydantic",
    "flask",
    "werkzeug",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "psycopg",
    "granian",
    "uvicorn",
    "uvloop",
    "httptools",
    "gunicorn",
    "uvicorn-worker",
    "waitress",
)


def machine(postgres: Postgres | None) -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str | None] = {}
    for name in VERSIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    _, wrk_version = bounded(["wrk", "-v"], timeout=10)
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average_at_start": os.getloadavg()[0],
        "wrk": wrk_version.splitlines()[0].split(" Copyright")[0] if wrk_version else "unknown",
        "postgresql": postgres.version() if postgres else None,
        "versions": versions,
    }


def check_tools() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit(
            "wrk, the load generator, is not installed: sudo apt-get install -y wrk  (Debian/Ubuntu; "
            "elsewhere see https://github.com/wg/wrk)"
        )
    missing = [name for name in BENCHMARK_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(
            f"missing {', '.join(missing)}: {BIN / 'pip'} install -r {ROOT / 'requirements' / 'benchmarks.txt'}"
        )


def measure(plan: Plan, out: Path) -> dict[str, Any]:
    check_tools()
    postgres: Postgres | None = None
    if plan.replicas and not Path(HAPROXY).exists():
        plan.replicas = False
        plan.notes.append("Replicas row left out: HAProxy is not installed (sudo apt-get install -y haproxy).")
        say(plan.notes[-1])
    if "postgresql" in plan.databases or plan.replicas:
        candidate = Postgres()
        problem = candidate.problem()
        if problem:
            plan.notes.append(f"PostgreSQL left out: the server at {POSTGRES_URL} did not answer ({problem}).")
            say(plan.notes[-1])
        else:
            postgres = candidate
    if plan.replicas and postgres is None:
        plan.replicas = False
        plan.notes.append("Replicas row left out: it runs on PostgreSQL, which did not answer.")
        say(plan.notes[-1])
    if plan.only_replicas and not plan.replicas:
        raise SystemExit("the replicas row cannot run here: " + " ".join(plan.notes))
    meta: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": machine(postgres),
    }
    work = Path(tempfile.mkdtemp(prefix="flask-or-fastapi-"))
    recorder = Recorder()
    began = time.perf_counter()
    bake_seconds: dict[str, list[float]] = {}
    suites: dict[str, list[float]] = {framework: [] for framework in FRAMEWORKS}
    try:
        meta["templates"] = export_templates(work, plan.working_tree)
        say(f"baking the templates of the {meta['templates']} into {work}")
        projects: dict[tuple[str, str, bool], Project] = {}
        for framework in FRAMEWORKS:
            if plan.replicas:
                projects[(framework, "postgresql", True)] = bake_project(framework, "postgresql", True, work)
            if plan.only_replicas:
                continue
            for database in plan.databases:
                for auth in plan.auths:
                    if (framework, database, auth) not in projects:
                        projects[(framework, database, auth)] = bake_project(framework, database, auth, work)
            if plan.only_items:
                continue
            for database, auth in (("sqlite", True), ("none", False)):
                if (framework, database, auth) not in projects:
                    projects[(framework, database, auth)] = bake_project(framework, database, auth, work)
            bake_seconds[framework] = time_bakes(framework, work, plan.bakes)
            say(f"  {framework}: bake median {statistics.median(bake_seconds[framework]):.2f} s")
        # Flask's shipped server as the baked project's README and Dockerfile configure it.
        servers.ship_as(next(p.path for (framework, _, _), p in projects.items() if framework == "flask"))
        plan.servers = tuple(servers.server_by_key(s.key) for s in plan.servers)
        say(f"  flask: shipped server {servers.shipped('flask').label}")
        for repeat in range(plan.repeat):
            if plan.replicas and postgres is not None:
                say(f"repeat {repeat + 1}/{plan.repeat}: 1, 2 and 3 replicas behind HAProxy")
                measure_replicas(plan, repeat, projects, work, postgres, recorder)
            if plan.only_replicas:
                continue
            if not plan.only_items:
                say(f"repeat {repeat + 1}/{plan.repeat}: /health under every server")
                measure_health(plan, repeat, projects, work, recorder)
            say(f"repeat {repeat + 1}/{plan.repeat}: the routes of the generated, minimal and bare apps")
            measure_database(plan, repeat, projects, work, postgres, recorder)
            if plan.test_suites:
                for framework in FRAMEWORKS:
                    recorder.attempt(
                        f"the {framework} project's own test suite",
                        functools.partial(time_test_suite, projects[(framework, "sqlite", True)], suites[framework]),
                    )
                    if suites[framework]:
                        say(f"  {framework}: own test suite {suites[framework][-1]:.1f} s")
    finally:
        PROCESSES.stop_all()
        if postgres is not None:
            postgres.drop_all()
        shutil.rmtree(work, ignore_errors=True)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    meta["minutes"] = (time.perf_counter() - began) / 60
    meta["machine"]["load_average_at_end"] = os.getloadavg()[0]
    meta["settings"] = {
        "duration_s": plan.duration,
        "warmup_s": plan.warmup,
        "repeat": plan.repeat,
        "workers": plan.workers,
        "concurrencies": list(plan.concurrencies),
        "wrk": f"wrk -t 1 -c <concurrency> -d <seconds> --timeout {WRK_TIMEOUT} --latency -s <script>",
        "smoke": plan.smoke,
        "notes": plan.notes,
    }
    if plan.replicas:
        meta["replicas_run"] = {
            "started": meta["started"],
            "minutes": meta["minutes"],
            "load_average_at_start": meta["machine"]["load_average_at_start"],
            "load_average_at_end": meta["machine"]["load_average_at_end"],
            "repeat": plan.repeat,
            "duration_s": plan.duration,
            "workers": plan.workers,
            "concurrency": REPLICA_CONCURRENCY,
            "haproxy": haproxy_version(),
            "postgresql": meta["machine"].get("postgresql"),
            "separate": plan.only_replicas,
        }
    results = {
        "meta": meta,
        "servers": [
            {"framework": s.framework, "key": s.key, "label": s.label, "shipped": s.shipped, "baseline": s.baseline}
            for s in plan.servers
        ],
        "runs": recorder.runs,
        "server_starts": recorder.servers,
        "bake_seconds": bake_seconds,
        "test_suite_seconds": suites,
        "failures": recorder.failures,
    }
    results["summary"] = summarise(results)
    return results


def merge_replicas(previous: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The earlier results with their replicas row replaced by the one just measured."""
    previous["runs"] = [r for r in previous["runs"] if r.get("kind") != "replicas"] + select(new, kind="replicas")
    previous["meta"]["replicas_run"] = new["meta"]["replicas_run"]
    previous["failures"] = [f for f in previous.get("failures", []) if not f["what"].startswith("replicas of")] + new[
        "failures"
    ]
    previous["summary"] = summarise(previous)
    return previous


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="a quick check: 1 s runs, one repeat, a subset")
    parser.add_argument("--duration", type=positive, help="whole seconds per wrk run (default 2, smoke 1)")
    parser.add_argument("--repeat", type=positive, help="repeats of every measurement (default 3, smoke 1)")
    parser.add_argument("--workers", type=positive, default=1, help="worker processes per server (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results folder (default {DEFAULT_OUT})")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's section from the results")
    parser.add_argument("--render", action="store_true", help="only redraw the outputs from <out>/results.json")
    parser.add_argument(
        "--working-tree", action="store_true", help="bake the templates as they are on disk, not as last committed"
    )
    parser.add_argument("--no-postgres", action="store_true", help="leave PostgreSQL out (and the replicas row)")
    parser.add_argument(
        "--only-replicas",
        action="store_true",
        help="measure only the replicas row; merge it into <out>/results.json when that exists",
    )
    parser.add_argument(
        "--only-items",
        action="store_true",
        help=f"only the routes of the generated, minimal and bare apps: auth on, {HEADLINE_CONCURRENCY} connections",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out = args.out.resolve()
    if args.render:
        results = json.loads((out / "results.json").read_text())
        results["summary"] = summarise(results)
        write_outputs(results, out, args.readme)
        say(f"redrew {out}")
        return 0
    smoke, items = args.smoke, args.only_items
    plan = Plan(
        duration=args.duration or (1 if smoke else 2),
        warmup=1,
        repeat=args.repeat or (1 if smoke else 3),
        workers=args.workers,
        concurrencies=(HEADLINE_CONCURRENCY,) if smoke or items else CONCURRENCIES,
        servers=tuple(s for s in SERVERS if s.shipped or (smoke and s.key in SMOKE_SERVERS) or not (smoke or items)),
        databases=("sqlite",) if args.no_postgres else ("sqlite", "postgresql"),
        auths=(True,) if smoke or items else (False, True),
        bakes=2 if smoke else 10,
        test_suites=not (smoke or items),
        smoke=smoke,
        working_tree=args.working_tree,
        replicas=not (args.no_postgres or items),
        only_replicas=args.only_replicas,
        only_items=items,
    )
    if smoke:
        plan.notes.append("Smoke run: a subset of servers, one concurrency, auth on, no test-suite timing.")
    if items:
        plan.notes.append(f"The items routes only: shipped servers, auth on, {HEADLINE_CONCURRENCY} connections.")
    # Ctrl-C stops the run even when it was started in the background (where SIGINT starts ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    say(f"estimated {plan.estimate_minutes():.0f} minutes")
    try:
        results = measure(plan, out)
    except KeyboardInterrupt:
        say("interrupted: every server and load generator it started has been stopped")
        return 130
    finally:
        PROCESSES.stop_all()
    if args.only_replicas and (out / "results.json").exists():
        results = merge_replicas(json.loads((out / "results.json").read_text()), results)
    write_outputs(results, out, args.readme)
    minutes = results["meta"]["replicas_run"]["minutes"] if args.only_replicas else results["meta"]["minutes"]
    say(f"\nwrote {out}/results.json, results.md, results.png ({minutes:.1f} minutes)\n")
    say("\n".join(headline(results)))
    if results["failures"]:
        say(f"\n{len(results['failures'])} measurement(s) failed: see results.md, 'What could not be measured'")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
