"""What the observability option costs on `/health`, measured.

Bakes each template twice with the same answers, once with ``use_observability`` and once
without, serves both under the shipped production server with the documented worker count,
and drives `GET /health` with wrk. The two services take turns (the order alternates per
repeat), so the machine's drift hits both; each repeat gives a ratio "on / off" of requests
per second, and the script prints and writes the range over repeats.

    .venv/bin/python benchmarks/observability.py              # 3 repeats of 10 s, both templates
    .venv/bin/python benchmarks/observability.py --smoke      # one 1 s run each: does it work?

Results go to ``benchmarks/results/observability.json`` (not with ``--smoke``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: the repository root must be on the path, not benchmarks/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks import baking, load, output, servers
from benchmarks.cli import check_tools
from benchmarks.processes import PROCESSES, say
from tests.harness import free_port

DATABASES = ("none", "sqlite")
CONCURRENCY = 32


def bake_pair(framework: str, database: str, work: Path) -> dict[bool, baking.Project]:
    pair = {}
    for observed in (False, True):
        answers = {"database": database, "use_auth": database != "none", "ci": "none"}
        name = f"{framework}-{database}-{'observed' if observed else 'plain'}"
        path = baking.bake(framework, work / "projects" / name, use_observability=observed, **answers)
        slug = path.name
        pair[observed] = baking.Project(framework, database, database != "none", path, slug)
    return pair


def settings(project: baking.Project, observed: bool, work: Path, label: str) -> dict[str, str]:
    extra = {"ENVIRONMENT": "production"}
    if project.database == "sqlite":
        extra["DATABASE_URL"] = f"sqlite:///{work / f'{label}.db'}"
    if observed:
        metrics = work / "metrics" / label
        metrics.mkdir(parents=True)
        # As the generated README says: a fresh multiprocess folder per start, metrics on their
        # own port (shared by the workers), nothing exported for traces.
        extra |= {"PROMETHEUS_MULTIPROC_DIR": str(metrics), "METRICS_PORT": str(free_port())}
    return baking.project_env(project.path, **extra)


def check_counted(port: str) -> None:
    """The service with the option on really counted its requests (else the ratio means nothing)."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    counted = [line for line in text.splitlines() if line.startswith("http_requests_total{") and "/health" in line]
    if not counted or sum(float(line.rsplit(" ", 1)[1]) for line in counted) < 1:
        raise RuntimeError(f"the observed service counted no /health request on port {port}:\n{text[:2000]}")


def measure(framework: str, database: str, repeats: int, seconds: int, work: Path) -> list[dict[str, Any]]:
    pair = bake_pair(framework, database, work)
    if framework == "flask":
        servers.ship_as(pair[False].path)
    server = servers.shipped(framework)
    workers = os.cpu_count() or 1
    runs = []
    for repeat in range(repeats):
        order = [False, True] if repeat % 2 == 0 else [True, False]
        started: list[tuple[bool, servers.Served]] = []
        metrics_ports: dict[bool, str] = {}
        try:
            for observed in order:
                project = pair[observed]
                label = f"{framework}-{database}-{observed}-{repeat}"
                env = settings(project, observed, work, label)
                metrics_ports[observed] = env.get("METRICS_PORT", "")
                if project.database == "sqlite":
                    baking.migrate(project, env)
                served = servers.serve(server, label, project.target, project.path, env, work, workers)
                started.append((observed, served))
            script = load.wrk_script(work)
            for _observed, served in started:
                load.wrk(f"{served.url}/health", CONCURRENCY, 1, script, [served.process.pid])  # warm-up
            result: dict[bool, dict[str, Any]] = {}
            for observed, served in started:
                result[observed] = load.wrk(f"{served.url}/health", CONCURRENCY, seconds, script, [served.process.pid])
            check_counted(metrics_ports[True])
        finally:
            PROCESSES.stop_many([served.process for _o, served in started])
        ratio = result[True]["rps"] / result[False]["rps"] if result[False]["rps"] else 0.0
        runs.append(
            {
                "framework": framework,
                "database": database,
                "repeat": repeat,
                "off_rps": result[False]["rps"],
                "on_rps": result[True]["rps"],
                "off_p99_ms": result[False]["p99_ms"],
                "on_p99_ms": result[True]["p99_ms"],
                "errors": result[False]["errors"] + result[True]["errors"],
                "on_over_off": ratio,
            }
        )
        say(
            f"  {framework:7} {database:6} repeat {repeat + 1}: off {result[False]['rps']:7.0f} req/s, "
            f"on {result[True]['rps']:7.0f} req/s, on/off {ratio:.2f}"
        )
    return runs


def summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for framework in servers.FRAMEWORKS:
        for database in DATABASES:
            ratios = [r["on_over_off"] for r in runs if r["framework"] == framework and r["database"] == database]
            if ratios:
                rows.append(
                    {
                        "framework": framework,
                        "database": database,
                        "on_over_off_min": min(ratios),
                        "on_over_off_median": statistics.median(ratios),
                        "on_over_off_max": max(ratios),
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="one 1 s run per template, nothing written")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--out", type=Path, default=output.DEFAULT_OUT)
    args = parser.parse_args(argv)
    repeats, seconds = (1, 1) if args.smoke else (args.repeat, args.duration)
    databases = ("none",) if args.smoke else DATABASES
    check_tools()
    work = Path(tempfile.mkdtemp(prefix="observability-cost-"))
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    runs: list[dict[str, Any]] = []
    try:
        for framework in servers.FRAMEWORKS:
            for database in databases:
                runs += measure(framework, database, repeats, seconds, work)
    finally:
        PROCESSES.stop_all()
    rows = summary(runs)
    say(f"/health at {CONCURRENCY} connections, observability on / off (requests per second):")
    for row in rows:
        say(
            f"  {servers.TITLES[row['framework']]:8} {row['database']:6} "
            f"{row['on_over_off_min']:.2f}-{row['on_over_off_max']:.2f} (median {row['on_over_off_median']:.2f})"
        )
    if not args.smoke:
        args.out.mkdir(parents=True, exist_ok=True)
        result = {
            "meta": {
                "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "minutes": round((time.perf_counter() - began) / 60, 1),
                "load_average_before": round(load_before, 2),
                "load_average_after": round(os.getloadavg()[0], 2),
                "concurrency": CONCURRENCY,
                "seconds": seconds,
                "repeats": repeats,
            },
            "summary": rows,
            "runs": runs,
        }
        (args.out / "observability.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
