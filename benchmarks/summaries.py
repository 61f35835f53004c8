"""The figures a run's outputs are written from: selections of runs, per-repeat ratios and
their ranges, the best server of each framework, and the framework-or-template breakdown."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from benchmarks.plan import CONCURRENCIES, HEADLINE_CONCURRENCY, ROUTES
from benchmarks.servers import FRAMEWORKS, baseline, shipped

# The three apps the routes run on: the framework alone, the same work hand-written, the template.
APPS = ("bare", "minimal", "generated")
DATABASES = ("sqlite", "postgresql")


def select(results: dict[str, Any], **criteria: Any) -> list[dict[str, Any]]:
    return [run for run in results["runs"] if all(run.get(key) == value for key, value in criteria.items())]


def span(values: Iterable[float]) -> list[float] | None:
    values = list(values)
    return [min(values), max(values)] if values else None


def ratios(
    results: dict[str, Any], numerator: dict[str, Any], denominator: dict[str, Any], metric: str = "rps"
) -> list[float]:
    """Per repeat, ``metric`` of one selection over another (both measured in the same repeat)."""
    top = {run["repeat"]: run[metric] for run in select(results, **numerator) if run.get(metric) is not None}
    bottom = {run["repeat"]: run[metric] for run in select(results, **denominator) if run.get(metric) is not None}
    return [top[r] / bottom[r] for r in sorted(top) if r in bottom and bottom[r] > 0]


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "generated_over_bare": {},
        "shipped_over_baseline": {},
        "shipped_over_baseline_bare": {},
        "winners": {},
        "layers": layers(results),
    }
    keys = {s["key"] for s in results["servers"]}
    for framework in FRAMEWORKS:
        ship, base = shipped(framework).key, baseline(framework).key

        def per_concurrency(top: dict[str, str], bottom: dict[str, str], framework: str = framework) -> dict[str, Any]:
            """`/health`'s requests/s of one server and app over another's, at each concurrency."""
            health = {"kind": "health", "framework": framework}
            at = {
                c: ({**health, **top, "concurrency": c}, {**health, **bottom, "concurrency": c}) for c in CONCURRENCIES
            }
            return {str(c): span(ratios(results, *at[c])) for c in CONCURRENCIES}

        generated, bare = {"server": ship, "app": "generated"}, {"server": ship, "app": "bare"}
        if ship in keys:
            summary["generated_over_bare"][framework] = per_concurrency(generated, bare)
            nodb = {"server": ship, "app": "generated-nodb"}
            summary["generated_over_bare"][f"{framework}-nodb"] = per_concurrency(nodb, bare)
        if ship in keys and base in keys:
            summary["shipped_over_baseline"][framework] = per_concurrency(generated, {**generated, "server": base})
            summary["shipped_over_baseline_bare"][framework] = per_concurrency(bare, {**bare, "server": base})
        summary["winners"][framework] = winners(results, framework)
        runs = select(results, kind="replicas", framework=framework)
        if runs:
            one = {"kind": "replicas", "framework": framework, "replicas": 1}
            summary.setdefault("replicas_over_one", {})[framework] = {
                str(n): span(ratios(results, {**one, "replicas": n}, one))
                for n in sorted({run["replicas"] for run in runs})
            }
    return summary


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def winners(results: dict[str, Any], framework: str) -> dict[str, Any]:
    """Per concurrency, the server with the most requests/s and the one with the lowest p99 (medians)."""
    found: dict[str, Any] = {}
    servers = [s["key"] for s in results["servers"] if s["framework"] == framework]
    for concurrency in CONCURRENCIES:
        medians = {}
        for key in servers:
            runs = select(
                results, kind="health", framework=framework, server=key, app="generated", concurrency=concurrency
            )
            if runs:
                medians[key] = (median_of(runs, "rps"), median_of(runs, "p99_ms"))
        if medians:
            found[str(concurrency)] = {
                "throughput": max(medians, key=lambda k: medians[k][0] or 0),
                "p99": min(medians, key=lambda k: medians[k][1] or float("inf")),
            }
    robust = []
    for key in servers:
        checks = [
            r["slow_clients"]["answered"]
            for r in results["server_starts"]
            if r["server"] == key and r["app"] == "generated" and "slow_clients" in r
        ]
        if checks and all(checks):
            robust.append(key)
    found["answers_beside_slow_clients"] = robust
    return found


def layers(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per database and route (auth on, the shipped servers, HEADLINE_CONCURRENCY connections): the
    bare, minimal and generated app of each framework (median requests/s and CPU ms per request),
    the generated app over the minimal one, and FastAPI over Flask for each app; ratios are
    min-max over the repeats, each taken within one repeat."""
    rows = []
    for database in DATABASES:
        for route in ROUTES:
            row: dict[str, Any] = {"database": database, "route": route, "fastapi_over_flask": {}}
            criteria = {"kind": "items", "database": database, "route": route, "auth": True}
            criteria["concurrency"] = HEADLINE_CONCURRENCY
            of = {f: {**criteria, "framework": f, "server": shipped(f).key} for f in FRAMEWORKS}
            for framework in FRAMEWORKS:
                apps = {}
                for app in APPS:
                    runs = select(results, app=app, **of[framework])
                    if runs:
                        apps[app] = {"rps": median_of(runs, "rps"), "cpu_ms": median_of(runs, "cpu_ms_per_request")}
                generated, minimal = {**of[framework], "app": "generated"}, {**of[framework], "app": "minimal"}
                row[framework] = {
                    "apps": apps,
                    "generated_over_minimal": {
                        "rps": span(ratios(results, generated, minimal)),
                        "cpu_ms": span(ratios(results, generated, minimal, "cpu_ms_per_request")),
                    },
                }
            for app in APPS:
                fastapi, flask = {**of["fastapi"], "app": app}, {**of["flask"], "app": app}
                row["fastapi_over_flask"][app] = {
                    "rps": span(ratios(results, fastapi, flask)),
                    "cpu_ms": span(ratios(results, fastapi, flask, "cpu_ms_per_request")),
                }
            if any(row[f]["apps"] for f in FRAMEWORKS):
                rows.append(row)
    return rows
