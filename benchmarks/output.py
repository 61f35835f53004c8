"""The outputs: ``results.md`` (the answer, the headline ratios and every table), the root
README's section (the answer, the headline ratios and the chart), and ``results.json``."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

from benchmarks.chart import chart
from benchmarks.load import SLOW_CLIENT_BOUND_SECONDS
from benchmarks.plan import HEADLINE_CONCURRENCY, ITEM_ROUTES, REPLICA_CONCURRENCY, REPLICA_ROUTE
from benchmarks.servers import ALTERNATIVE_ITEMS_SERVER, FRAMEWORKS, TITLES, baseline, server_by_key, shipped
from benchmarks.summaries import median_of, select
from tests.baking import ROOT

DEFAULT_OUT = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
START_MARKER = "<!-- benchmarks:start -->"
END_MARKER = "<!-- benchmarks:end -->"
DASH, TIMES = "\u2013", "\u00d7"  # en dash for ranges, multiplication sign for ratios


def number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def spread(values: list[float], unit: str = "") -> str:
    if not values:
        return DASH
    low, high = min(values), max(values)
    text = number(low) if number(low) == number(high) else f"{number(low)}\u2013{number(high)}"
    return text + unit


def ratio_text(pair: list[float] | None) -> str:
    if not pair:
        return DASH
    low, high = pair
    return f"{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}\u2013{high:.2f}"


def label(results: dict[str, Any], key: str) -> str:
    return next((s["label"] for s in results["servers"] if s["key"] == key), server_by_key(key).label)


def startup(results: dict[str, Any], **criteria: Any) -> list[float]:
    return [r["startup_s"] for r in results["server_starts"] if all(r.get(k) == v for k, v in criteria.items())]


def slow_client_text(results: dict[str, Any], server: str, app: str) -> str:
    checks = [
        r["slow_clients"]
        for r in results["server_starts"]
        if r["server"] == server and r["app"] == app and "slow_clients" in r
    ]
    if not checks:
        return DASH
    answered = [c for c in checks if c["answered"]]
    if len(answered) == len(checks):
        return "answers (" + spread([c["seconds"] * 1000 for c in answered], " ms") + ")"
    if not answered:
        return f"**no answer in {SLOW_CLIENT_BOUND_SECONDS:g} s**"
    return f"answered {len(answered)} of {len(checks)}"


def health_table(results: dict[str, Any]) -> list[str]:
    concurrencies = results["meta"]["settings"]["concurrencies"]
    head = ["framework", "server", "app"]
    head += [f"req/s @{c}" for c in concurrencies] + [f"p50 / p99 ms @{c}" for c in concurrencies]
    head += ["errors", "peak RSS/worker", "start-up", "two stalled clients"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for server in results["servers"]:
        key = server["key"]
        for app in ("generated", "generated-nodb", "bare"):
            runs = select(results, kind="health", server=key, app=app)
            if not runs:
                continue
            by_c = {c: select(results, kind="health", server=key, app=app, concurrency=c) for c in concurrencies}
            name = server["label"] + (" **(shipped)**" if server["shipped"] else "")
            row = [TITLES[server["framework"]], name, {"generated-nodb": "generated, no database"}.get(app, app)]
            row += [spread([r["rps"] for r in by_c[c]]) for c in concurrencies]
            row += [
                f"{spread([r['p50_ms'] for r in by_c[c]])} / {spread([r['p99_ms'] for r in by_c[c]])}"
                for c in concurrencies
            ]
            row.append(str(sum(r["errors"] for r in runs)))
            row.append(f"{max(r['peak_rss_mb'] for r in runs):.0f} MB")
            row.append(spread(startup(results, server=key, app=app), " s"))
            row.append(slow_client_text(results, key, app))
            lines.append("| " + " | ".join(row) + " |")
    return lines


def items_table(results: dict[str, Any]) -> list[str]:
    concurrencies = results["meta"]["settings"]["concurrencies"]
    head = ["route", "database", "auth", "framework"]
    head += [f"req/s @{c}" for c in concurrencies] + [f"CPU ms/request @{c}" for c in concurrencies]
    head += [f"p50 / p99 ms @{c}" for c in concurrencies] + ["errors"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    routes = list(dict.fromkeys(r["route"] for r in select(results, kind="items", app="generated")))
    for route in routes:
        for database in ("sqlite", "postgresql"):
            for auth in (False, True):
                for framework, server in [
                    *((f, shipped(f).key) for f in FRAMEWORKS),
                    ("flask", ALTERNATIVE_ITEMS_SERVER),
                ]:
                    runs = select(
                        results,
                        kind="items",
                        app="generated",
                        route=route,
                        database=database,
                        auth=auth,
                        framework=framework,
                        server=server,
                    )
                    if not runs:
                        continue
                    by_c = {c: [r for r in runs if r["concurrency"] == c] for c in concurrencies}
                    name = (
                        TITLES[framework]
                        if server == shipped(framework).key
                        else f"Flask under {label(results, server)}"
                    )
                    row = [f"`{route}`", database, "token" if auth else "off", name]
                    row += [spread([r["rps"] for r in by_c[c]]) for c in concurrencies]
                    row += [spread(cpu(by_c[c])) for c in concurrencies]
                    row += [
                        f"{spread([r['p50_ms'] for r in by_c[c]])} / {spread([r['p99_ms'] for r in by_c[c]])}"
                        for c in concurrencies
                    ]
                    row.append(str(sum(r["errors"] for r in runs)))
                    lines.append("| " + " | ".join(row) + " |")
    return lines


def cpu(runs: list[dict[str, Any]]) -> list[float]:
    """CPU ms per request of ``runs`` (results written before it was measured have none)."""
    return [r["cpu_ms_per_request"] for r in runs if r.get("cpu_ms_per_request") is not None]


DATABASE_TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
ROUTE_NAMES = {
    "GET /health": "`/health`",
    "GET /api/v1/items/{id}": "one item",
    "GET /api/v1/items?limit=20": "a page",
    "POST /api/v1/items": "create",
}
# The aims of issue 16: each generated service keeps this share of the minimal app of its framework on
# GET one item; FastAPI serves at least Flask's requests/s at no more than this multiple of its CPU.
MINIMAL_TARGET, FASTAPI_CPU_TARGET = 0.5, 1.1


def layers_text(results: dict[str, Any], level: str) -> list[str]:
    """The framework against the template: bare, minimal and generated app on every route and database."""
    rows = results["summary"].get("layers", [])
    if not rows:
        return []
    c = HEADLINE_CONCURRENCY
    lines = [
        f"{level} What the framework costs and what the template adds",
        "",
        f"Each route with a bearer token at {c} connections, under each framework's shipped server with "
        "one worker, on three apps that take turns on the same database: *bare*, the framework alone "
        "answering fixed JSON (`benchmarks/apps/bare_*.py`); *minimal*, the same work hand-written with the "
        "generated service's driver (decode the token, one `SELECT` by id and owner, two for a page, one "
        "`INSERT` to create; `benchmarks/apps/minimal_*.py`); *generated*, the baked service. *CPU ms/request* "
        "is the CPU time of the server's processes over the requests answered: unlike requests/s it "
        "does not depend on what else the machine runs. Ranges are min\u2013max over the repeats; each "
        "ratio is taken within one repeat.",
        "",
        "| route | database | framework | req/s bare | req/s minimal | req/s generated | CPU ms/request bare "
        "| CPU minimal | CPU generated | generated / minimal req/s | generated / minimal CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for framework in FRAMEWORKS:
            criteria = {"kind": "items", "route": row["route"], "database": row["database"], "auth": True}
            criteria |= {"framework": framework, "server": shipped(framework).key, "concurrency": c}
            runs = {app: select(results, app=app, **criteria) for app in ("bare", "minimal", "generated")}
            ratio = row[framework]["generated_over_minimal"]
            cells = [f"`{row['route']}`", DATABASE_TITLES[row["database"]], TITLES[framework]]
            cells += [spread([r["rps"] for r in runs[app]]) for app in runs]
            cells += [spread(cpu(runs[app])) for app in runs]
            cells += [ratio_text(ratio["rps"]), ratio_text(ratio["cpu_ms"]) + (TIMES if ratio["cpu_ms"] else "")]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "FastAPI over Flask, app by app (above 1: FastAPI serves more requests/s, or spends more CPU per request):",
        "",
        "| route | database | req/s bare | req/s minimal | req/s generated | CPU bare | CPU minimal | CPU generated |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratios = row["fastapi_over_flask"]
        cells = [f"`{row['route']}`", DATABASE_TITLES[row["database"]]]
        cells += [times_text(ratios[app]["rps"]) for app in ("bare", "minimal", "generated")]
        cells += [times_text(ratios[app]["cpu_ms"]) for app in ("bare", "minimal", "generated")]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def times_text(pair: list[float] | None) -> str:
    return ratio_text(pair) + TIMES if pair else DASH


def layers_headline(results: dict[str, Any]) -> list[str]:
    """Generated over minimal on GET one item, and FastAPI over Flask per route, as sentences."""
    rows = results["summary"].get("layers", [])
    if not rows:
        return []
    lines = [f"- **Framework or template** (auth on, {HEADLINE_CONCURRENCY} connections, shipped servers):"]
    for framework in FRAMEWORKS:
        parts = [
            f"{DATABASE_TITLES[row['database']]} **{ratio_text(pair['rps'])}** ({target(pair['rps'], MINIMAL_TARGET)}; "
            f"CPU per request {times_text(pair['cpu_ms'])})"
            for row in rows
            if row["route"] == ITEM_ROUTES[0] and (pair := row[framework]["generated_over_minimal"])["rps"]
        ]
        if parts:
            lines.append(
                f"  - generated {TITLES[framework]} service / minimal {TITLES[framework]} app, requests/s on "
                f"`{ITEM_ROUTES[0]}`: " + "; ".join(parts)
            )
    for database in DATABASE_TITLES:
        parts = []
        for row in rows:
            pair = row["fastapi_over_flask"]["generated"]
            if row["database"] == database and row["route"] in ITEM_ROUTES and pair["rps"]:
                part = f"{ROUTE_NAMES[row['route']]} **{times_text(pair['rps'])}**"
                if pair["cpu_ms"]:
                    part += (
                        f" (CPU per request {times_text(pair['cpu_ms'])}, aim {FASTAPI_CPU_TARGET:g}: "
                        f"{target_text(pair['cpu_ms'], FASTAPI_CPU_TARGET, below=True)})"
                    )
                parts.append(part)
        if parts:
            lines.append(
                f"  - generated FastAPI / generated Flask on {DATABASE_TITLES[database]}, requests/s (aim 1): "
                + "; ".join(parts)
            )
    return lines


def target_text(pair: list[float] | None, aim: float, below: bool = False) -> str:
    """``target``'s verdict alone; ``below``: the aim is a ceiling, not a floor."""
    if not pair:
        return "not measured"
    low, high = pair
    if below:
        low, high, aim = -high, -low, -aim
    return "met in every repeat" if low >= aim else "not met in any repeat" if high < aim else "met only in part"


def headline(results: dict[str, Any]) -> list[str]:
    """The two headline ratios, as sentences."""
    summary = results["summary"]
    c = str(HEADLINE_CONCURRENCY)
    lines = []
    for framework in FRAMEWORKS:
        ship, base = shipped(framework), baseline(framework)
        over_bare = summary["generated_over_bare"].get(framework, {}).get(c)
        nodb = summary["generated_over_bare"].get(f"{framework}-nodb", {}).get(c)
        over_base = summary["shipped_over_baseline"].get(framework, {}).get(c)
        if over_bare is None and over_base is None:
            continue  # /health was not measured under the servers (--only-items)
        lines += [
            f"- **{TITLES[framework]}**, `GET /health` at {c} connections:",
            f"  - generated service / bare {TITLES[framework]} app, both under {ship.label}: "
            f"**{ratio_text(over_bare)}** ({target(over_bare, BARE_TARGET)}); baked without a database, so "
            f"without the `SELECT 1`: {ratio_text(nodb)} ({target(nodb, BARE_TARGET)})",
            f"  - {ship.label} / {base.label}, generated service: **{ratio_text(over_base)}\u00d7** "
            f"({target(over_base, SERVER_TARGET)}); bare apps: "
            f"{ratio_text(summary['shipped_over_baseline_bare'].get(framework, {}).get(c))}\u00d7",
        ]
    return lines + layers_headline(results)


# The aims of the template (issue 7): the generated /health keeps this share of a bare app,
# and the shipped server gives this multiple of the plain one, at 32 connections.
BARE_TARGET, SERVER_TARGET = 0.85, 1.3


def target(pair: list[float] | None, aim: float) -> str:
    """Whether a ratio's range reaches ``aim``: in every repeat, in none, or in part of them."""
    if not pair:
        return "not measured"
    return f"aim {aim:g}: {target_text(pair, aim)}"


def other_timings(results: dict[str, Any]) -> list[str]:
    lines = ["| | FastAPI | Flask |", "|---|---|---|"]
    bakes = results["bake_seconds"]
    cells = [
        f"{statistics.median(bakes[f]):.2f} s (median of {len(bakes[f])})" if bakes.get(f) else DASH for f in FRAMEWORKS
    ]
    lines.append("| bake the default project | " + " | ".join(cells) + " |")
    cells = [spread(startup(results, server=shipped(f).key, app="generated"), " s") for f in FRAMEWORKS]
    lines.append("| start-up under the shipped server (spawn to first 200) | " + " | ".join(cells) + " |")
    suites = results["test_suite_seconds"]
    cells = [spread(suites.get(f, []), " s") for f in FRAMEWORKS]
    lines.append("| the default project's own test suite | " + " | ".join(cells) + " |")
    return lines


def machine_text(results: dict[str, Any]) -> list[str]:
    meta = results["meta"]
    m, s = meta["machine"], meta["settings"]
    versions = ", ".join(f"{name} {version}" for name, version in m["versions"].items() if version)
    lines = [
        f"- {m['cores']} cores ({m['cpu']}), {m['system']}, Python {m['python']}, {m['wrk']}"
        + (f", PostgreSQL {m['postgresql']}" if m.get("postgresql") else "")
        + f"; load average {m['load_average_at_start']:.1f} at the start, {m['load_average_at_end']:.1f} at the end "
        "(the machine was shared with other work: hence the ranges).",
        f"- {versions}.",
        f"- {s['repeat']} repeat(s) of every measurement, {s['duration_s']:g} s each (at one connection "
        f"{max(1, int(s['duration_s']) // 2)} s) after a {s['warmup_s']:g} s warm-up per server start, "
        f"`{s['wrk']}`; servers on loopback with {s['workers']} worker process(es) each, wrk (one thread) on the "
        "same machine, the two frameworks' runs interleaved. Ranges are min\u2013max over the repeats. "
        f"Run of {meta['started']}, {meta['minutes']:.0f} minutes; templates of the {meta.get('templates', '?')}.",
    ]
    lines += [f"- {note}" for note in s["notes"]]
    return lines


def body(results: dict[str, Any], chart: str, level: str) -> list[str]:
    """The answer, the headline ratios, the tables, the chart and the machine, with ``level`` headings."""
    settings = results["meta"]["settings"]
    return [
        f"The answer from the run of {results['meta']['started']} ({settings['repeat']} repeat(s); "
        f"ranges are min{DASH}max over the repeats, other figures medians):",
        "",
        answer(results),
        "",
        f"{level} Headline ratios",
        "",
        *headline(results),
        "",
        f"{level} `GET /health` under each server",
        "",
        "The generated default project (SQLite, auth; its `/health` runs `SELECT 1`) against a bare app "
        "of the same framework whose `/health` returns the same JSON (`benchmarks/apps/bare_*.py`), both under the "
        "same server in the "
        "same run; under the shipped server also the project baked without a database. Requests/s count "
        "successful answers only; errors count answers other than 2xx/3xx and socket errors (0 expected). "
        "*Two stalled clients*: with two "
        f"connections holding half-sent requests, does `/health` answer within {SLOW_CLIENT_BOUND_SECONDS:g} s?",
        "",
        *health_table(results),
        "",
        f"{level} The items routes under the shipped servers",
        "",
        "Each on a fresh database with 20 items; reads first, then the writes. With auth, every request "
        "carries a valid bearer token of a user registered over HTTP before the run.",
        "",
        *items_table(results),
        "",
        *layers_text(results, level),
        *replicas_text(results, level),
        f"{level} Baking, start-up, tests",
        "",
        *other_timings(results),
        "",
        f"![Requests per second and p99 latency, per server and per framework]({chart})",
        "",
        f"{level} Machine and method",
        "",
        *machine_text(results),
        "",
        *failures_text(results, level),
    ]


def replicas_text(results: dict[str, Any], level: str) -> list[str]:
    """The replicas row: its table, and what its ratios mean here and elsewhere."""
    runs = select(results, kind="replicas")
    if not runs:
        return []
    run = results["meta"].get("replicas_run", {})
    workers = run.get("workers", 1)
    ratios_of = results["summary"].get("replicas_over_one", {})
    lines = [
        f"{level} Replicas behind HAProxy",
        "",
        f"`{REPLICA_ROUTE}` with a bearer token, through HAProxy {run.get('haproxy', '')} (roundrobin, health "
        f"checks on `/health`) at {run.get('concurrency', REPLICA_CONCURRENCY)} connections, with 1, 2 and 3 "
        f"replicas of the shipped server ({workers} worker each) that share one PostgreSQL database and one "
        f"`SECRET_KEY`; the schema migrated once before they start. *{TIMES} one replica* is requests/s over "
        f"those of one replica in the same repeat (min{DASH}max over "
        f"{run.get('repeat', '?')} repeat(s) of {run.get('duration_s', '?')} s; run of {run.get('started', '?')}"
        + (", measured separately from the rest of this page" if run.get("separate") else "")
        + f", load average {run.get('load_average_at_start', 0):.1f} at its start).",
        "",
        f"| framework | replicas | req/s | {TIMES} one replica | p50 / p99 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for framework in FRAMEWORKS:
        for count in sorted({r["replicas"] for r in runs if r["framework"] == framework}):
            chosen = select(results, kind="replicas", framework=framework, replicas=count)
            ratio = ratios_of.get(framework, {}).get(str(count))
            lines.append(
                f"| {TITLES[framework]} | {count} | {spread([r['rps'] for r in chosen])} | "
                f"{ratio_text(ratio) + TIMES if ratio else DASH} | "
                f"{spread([r['p50_ms'] for r in chosen])} / {spread([r['p99_ms'] for r in chosen])} | "
                f"{sum(r['errors'] for r in chosen)} |"
            )
    cores = results["meta"]["machine"].get("cores") or "?"
    measured = "; ".join(
        f"{TITLES[f]} " + ", ".join(f"{n} replicas {ratio_text(pair)}{TIMES}" for n, pair in by_n.items() if n != "1")
        for f, by_n in ratios_of.items()
    )
    lines += [
        "",
        f"What these ratios mean ({measured}): the replicas, HAProxy, PostgreSQL and wrk all share this "
        f"machine's {cores} cores. One replica with {workers} worker uses at most {workers} core(s); a second "
        "replica can only have what PostgreSQL, HAProxy and wrk leave of the other cores, so on a quiet machine "
        "the ratio for two stays well under 2; a third replica has no core of its own and only takes turns with "
        "the others. "
        "What the row shows is that replicas behind a balancer share the load without errors; it is not the "
        "factor a cluster would give. Where each replica has cores of its own and the load generator runs "
        "elsewhere, throughput grows nearly in proportion to the replicas until a shared part sets the limit: "
        "the database first (every replica opens up to `DATABASE_POOL_SIZE` + `DATABASE_MAX_OVERFLOW` "
        "connections per worker, which must stay under the server's `max_connections`), then the balancer. "
        "The row runs on PostgreSQL because replicas that scale out share a database server: a SQLite file "
        "cannot be shared between machines, and its single writer would measure its lock, not the replicas.",
        "",
    ]
    load = run.get("load_average_at_start", 0.0)
    if isinstance(cores, int) and load > cores:
        lines[-1:-1] = [
            "",
            f"This row was measured with a load average of {load:.1f} on {cores} cores: other work held most of "
            "the CPU, and the scheduler shares it per process, so every replica process added took a larger "
            "slice from that work. Ratios above what the cores allow (near 2 for three replicas) measure that, "
            "not scaling; on a quiet machine expect them lower.",
        ]
    return lines


def failures_text(results: dict[str, Any], level: str) -> list[str]:
    failures = results.get("failures") or []
    if not failures:
        return []
    lines = [f"{level} What could not be measured", ""]
    lines += [f"- {f['what']}: `{f['error'].splitlines()[0][:300]}`" for f in failures]
    return [*lines, ""]


def markdown(results: dict[str, Any], chart: str) -> str:
    return "\n".join(["# Flask or FastAPI? Measured.", "", *body(results, chart, "##")])


def readme_section(results: dict[str, Any], out: Path) -> str:
    """The README's section: the answer, the headline ratios and the chart of the last run, how to
    reproduce it, and where the full tables are (``results.md``)."""
    relative = out.resolve().relative_to(ROOT).as_posix()
    settings = results["meta"]["settings"]
    lines = [
        START_MARKER,
        "## Flask or FastAPI? Measured.",
        "",
        "`python -m benchmarks` bakes a FastAPI and a Flask project with the same answers and serves each "
        "on loopback under every candidate production server beside a bare app of its framework, and under "
        "the shipped server also beside a minimal hand-written app doing the same queries with the same "
        "driver; wrk drives them at 1, 32 and 256 connections. "
        f"Every table of its last run is in [`{relative}/results.md`]({relative}/results.md) "
        f"(the figures in [`results.json`]({relative}/results.json)); how it measures is in "
        "[`benchmarks/README.md`](benchmarks/README.md). "
        f"The answer from the run of {results['meta']['started']} ({settings['repeat']} repeat(s); ranges are "
        f"min{DASH}max over the repeats, other figures medians):",
        "",
        answer(results),
        "",
        "### Headline ratios",
        "",
        *headline(results),
        "",
        f"![Requests per second and p99 latency, per server and per framework]({relative}/results.png)",
        "",
        "What the observability option costs on `/health` is measured by `benchmarks/observability.py` "
        "([`benchmarks/results/observability.md`](benchmarks/results/observability.md)).",
        "",
        "To reproduce (about 30 minutes on two cores; `--smoke` for a check in a few minutes):",
        "",
        "```bash",
        "sudo apt-get install -y wrk haproxy   # the load generator and the balancer (Debian/Ubuntu)",
        "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt",
        ".venv/bin/python -m benchmarks --readme",
        "```",
    ]
    return "\n".join(lines).rstrip() + "\n" + END_MARKER


def times(value: float) -> str:
    return f"{value:.2f}\u00d7"


def spread_times(values: list[float]) -> str:
    if not values:
        return DASH
    low, high = min(values), max(values)
    return times(low) if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}{DASH}{high:.2f}\u00d7"


def at(chosen: list[int], among: list[int]) -> str:
    if not chosen:
        return f"at none of {', '.join(map(str, among))} connections"
    if chosen == among:
        return (
            f"at {among[0]} connections" if len(among) == 1 else f"at all of {', '.join(map(str, among))} connections"
        )
    return f"at {' and '.join(map(str, chosen))} connection{'s' if chosen != [1] else ''} only"


def answer(results: dict[str, Any]) -> str:
    """A plain answer, worded from the figures of this run: every number below is computed."""
    summary = results["summary"]
    concurrencies = results["meta"]["settings"]["concurrencies"]
    c = HEADLINE_CONCURRENCY
    top = max(concurrencies)
    loads = sorted({c, top} & set(concurrencies))

    def med(metric: str = "rps", **criteria: Any) -> float | None:
        if criteria.get("kind") == "items" and "server" not in criteria:
            criteria["server"] = shipped(criteria["framework"]).key
        if criteria.get("kind") == "items":
            criteria.setdefault("app", "generated")
        return median_of(select(results, **criteria), metric)

    points = layers_answer(results)

    # Plain requests: the frameworks alone (bare apps) and the generated services, under the shipped servers.
    bare = {f: med(kind="health", framework=f, server=shipped(f).key, app="bare", concurrency=c) for f in FRAMEWORKS}
    nodb = {
        f: med(kind="health", framework=f, server=shipped(f).key, app="generated-nodb", concurrency=c)
        for f in FRAMEWORKS
    }
    generated = {
        f: med(kind="health", framework=f, server=shipped(f).key, app="generated", concurrency=c) for f in FRAMEWORKS
    }
    if all(bare.values()) and all(nodb.values()) and all(generated.values()):

        def lead(figures: dict[str, float | None]) -> str:
            a, b = float(figures["fastapi"] or 0), float(figures["flask"] or 0)
            (winner, high), (loser, low) = sorted((("FastAPI", a), ("Flask", b)), key=lambda p: -p[1])
            return f"{winner} serves {times(high / low)} {loser}'s requests/s ({number(high)} against {number(low)})"

        points.append(
            f"**Requests that do little** (`GET /health`, {c} connections, each under its shipped server, "
            f"medians): the bare frameworks, {lead(bare)}; the generated services baked without "
            f"a database, {lead(nodb)}; the default projects, whose `/health` also runs `SELECT 1` on SQLite, "
            f"{lead(generated)}."
        )

    # The items routes: Flask's threads against FastAPI's event loop, on each database.
    names = {
        "GET /api/v1/items/{id}": "one item",
        "GET /api/v1/items?limit=20": "a page",
        "POST /api/v1/items": "create",
    }
    auth_text = {(False, True): "auth off and on", (True,): "with auth", (False,): "without auth"}.get(
        tuple(sorted({r["auth"] for r in select(results, kind="items", app="generated")})), ""
    )
    for database in ("sqlite", "postgresql"):
        shares: dict[str, list[float]] = {}
        p99s: list[float] = []
        for route in ITEM_ROUTES:
            for auth in (False, True):
                for load in loads:
                    criteria: dict[str, Any] = {"kind": "items", "route": route, "database": database, "auth": auth}
                    a = med(framework="fastapi", concurrency=load, **criteria)
                    b = med(framework="flask", concurrency=load, **criteria)
                    pa = med("p99_ms", framework="fastapi", concurrency=load, **criteria)
                    pb = med("p99_ms", framework="flask", concurrency=load, **criteria)
                    if a and b and pa and pb:
                        shares.setdefault(route, []).append(b / a)
                        p99s.append(pb / pa)
        if not shares:
            continue
        every = [share for values in shares.values() for share in values]
        flask_ahead = sum(share > 1 for share in every)
        name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[database]
        per_route = ", ".join(f"{names.get(route, route)} {spread_times(values)}" for route, values in shares.items())
        points.append(
            f"**Database routes on {name}** (Flask's requests/s over FastAPI's, medians, {auth_text}, at "
            f"{' and '.join(map(str, loads))} connections): {per_route}; Flask is ahead in {flask_ahead} of "
            f"{len(every)} comparisons, and its p99 is {spread_times(p99s)} FastAPI's."
        )
        failed = {
            f: sum(
                r["errors"]
                for r in select(
                    results, kind="items", app="generated", database=database, framework=f, server=shipped(f).key
                )
            )
            for f in FRAMEWORKS
        }
        if any(failed.values()):
            points[-1] += (
                f" Not every request succeeded: {failed['fastapi']} failed answers or socket errors for FastAPI, "
                f"{failed['flask']} for Flask (see the table; requests/s count successful answers only)."
            )

    # Does async help?
    pg_reads = []
    for route in ("GET /api/v1/items/{id}", "GET /api/v1/items?limit=20", "POST /api/v1/items"):
        for auth in (False, True):
            a = med(kind="items", framework="fastapi", route=route, database="postgresql", auth=auth, concurrency=top)
            b = med(kind="items", framework="flask", route=route, database="postgresql", auth=auth, concurrency=top)
            if a and b:
                pg_reads.append(a / b)
    if pg_reads:
        ahead = sum(ratio > 1 for ratio in pg_reads)
        verdict = (
            "yes, here"
            if ahead > len(pg_reads) / 2
            else "not on this machine"
            if ahead < len(pg_reads) / 2
            else "it is a draw here"
        )
        points.append(
            f"**Does async help on the database-bound routes?** {verdict[0].upper()}{verdict[1:]}: at {top} "
            f"connections on PostgreSQL FastAPI serves {spread_times(pg_reads)} Flask's requests/s "
            f"(ahead in {ahead} of {len(pg_reads)}). With the database on loopback a query waits well under a "
            "millisecond, so each worker is busy with Python (validation, ORM, JSON), not with waiting; an event "
            "loop pays off when requests wait long on the network, which this benchmark does not simulate."
        )

    # What the server contributes, and whether the shipped one wins.
    for framework in FRAMEWORKS:
        ship, base = shipped(framework), baseline(framework)
        parts = []
        for load in concurrencies:
            over = summary["shipped_over_baseline"].get(framework, {}).get(str(load))
            if over:
                parts.append(f"{ratio_text(over)}\u00d7 at {load} connection{'s' if load > 1 else ''}")
        if not parts:
            continue
        text = (
            f"**What the server contributes, {TITLES[framework]}:** {ship.label} gives the generated `/health` "
            f"{', '.join(parts)} the requests/s of {base.label} (ranges over the repeats)."
        )
        found = summary["winners"].get(framework, {})
        most = {load: found.get(str(load), {}).get("throughput") for load in concurrencies}
        fastest = {load: found.get(str(load), {}).get("p99") for load in concurrencies}
        robust = found.get("answers_beside_slow_clients", [])
        failing = [
            label(results, s["key"])
            for s in results["servers"]
            if s["framework"] == framework and s["key"] not in robust
        ]
        wins = [load for load in concurrencies if most[load] == ship.key]
        lows = [load for load in concurrencies if fastest[load] == ship.key]
        text += (
            f" Among the {TITLES[framework]} candidates (medians), {ship.label} has the most requests/s "
            f"{at(wins, concurrencies)} and the lowest p99 {at(lows, concurrencies)}"
        )
        others = sorted({label(results, k) for k in [*most.values(), *fastest.values()] if k and k != ship.key})
        if others:
            text += f" (elsewhere the lead goes to {', '.join(others)})"
        text += "."
        if failing:
            text += f" Beside two stalled half-sent requests, {', '.join(failing)} did not answer `/health` in time."
        else:
            text += " Every candidate answered `/health` at once beside two stalled half-sent requests."
        points.append(text)

    # Flask's thread pool on the database routes: the shipped server against the same with one thread.
    alternative = select(results, kind="items", app="generated", server=ALTERNATIVE_ITEMS_SERVER)
    if alternative:
        threads: dict[str, list[float]] = {}
        for route in dict.fromkeys(r["route"] for r in alternative):
            for load in sorted({r["concurrency"] for r in alternative}):
                criteria = {"kind": "items", "framework": "flask", "route": route, "auth": True}
                criteria["database"] = alternative[0]["database"]
                one = med(server=ALTERNATIVE_ITEMS_SERVER, concurrency=load, **criteria)
                many = med(concurrency=load, **criteria)
                if one and many:
                    threads.setdefault(route, []).append(many / one)
        every = [share for values in threads.values() for share in values]
        per_route = ", ".join(f"{names.get(route, route)} {spread_times(values)}" for route, values in threads.items())
        points.append(
            f"**Flask's threads on the database routes** ({alternative[0]['database']}, auth, medians at each "
            f"connection count): {shipped('flask').label} serves {per_route} the requests/s of the same server with "
            f"one blocking thread, more in {sum(share > 1 for share in every)} of {len(every)} comparisons."
        )

    # What the generated service costs against a bare app.
    costs = []
    for framework in FRAMEWORKS:
        full = summary["generated_over_bare"].get(framework, {}).get(str(c))
        light = summary["generated_over_bare"].get(f"{framework}-nodb", {}).get(str(c))
        if full and light:
            costs.append(f"{TITLES[framework]} {ratio_text(full)} ({ratio_text(light)} without a database)")
    if costs:
        points.append(
            f"**What the generated code costs:** under the shipped server at {c} connections the generated "
            f"`/health` serves {'; '.join(costs)} of a bare app's requests/s. Without a database the difference "
            "is the generated middleware (request logging, error handling) and the response model; with one, the "
            "`SELECT 1` that every `/health` runs costs most of the rest."
        )
    return "\n".join(f"- {point}" for point in points)


def layers_answer(results: dict[str, Any]) -> list[str]:
    """What each framework costs and what the template adds, from the bare, minimal and generated apps."""
    rows = results["summary"].get("layers", [])
    if not rows:
        return []

    def medians(framework: str, app: str, metric: str) -> dict[tuple[str, str], float]:
        return {
            (row["database"], row["route"]): value
            for row in rows
            if (value := row[framework]["apps"].get(app, {}).get(metric))
        }

    def shares(top: dict[tuple[str, str], float], bottom: dict[tuple[str, str], float]) -> list[float]:
        return [top[key] / bottom[key] for key in top if bottom.get(key)]

    routes = ", ".join(ROUTE_NAMES[route] for route in dict.fromkeys(row["route"] for row in rows))
    databases = " and ".join(DATABASE_TITLES[d] for d in dict.fromkeys(row["database"] for row in rows))
    scope = f"auth on, {HEADLINE_CONCURRENCY} connections, medians; {routes} on {databases}"
    described = {
        "bare": "as bare apps (the framework alone)",
        "minimal": "as minimal apps (the same queries, hand-written, each framework's driver)",
        "generated": "as the generated services",
    }
    frameworks = []
    if not any(row[f]["apps"].get("minimal") for row in rows for f in FRAMEWORKS):
        return []  # results of a run before the bare and minimal apps took part
    for app, text in described.items():
        rps = shares(medians("fastapi", app, "rps"), medians("flask", app, "rps"))
        cpu_ms = shares(medians("fastapi", app, "cpu_ms"), medians("flask", app, "cpu_ms"))
        if rps:
            frameworks.append(f"{spread_times(rps)} Flask's requests/s {text} (CPU per request {spread_times(cpu_ms)})")
    template = []
    for framework in FRAMEWORKS:
        rps = shares(medians(framework, "generated", "rps"), medians(framework, "minimal", "rps"))
        cpu_ms = shares(medians(framework, "generated", "cpu_ms"), medians(framework, "minimal", "cpu_ms"))
        if rps:
            template.append(
                f"{TITLES[framework]} {spread_ratio(rps)} of its minimal app's requests/s at "
                f"{spread_times(cpu_ms)} its CPU per request"
            )
    points = []
    if frameworks:
        points.append(f"**What each framework costs** ({scope}): FastAPI serves {'; '.join(frameworks)}.")
    if template:
        points.append(f"**What the template adds** ({scope}): the generated service keeps {'; '.join(template)}.")
    return points


def spread_ratio(values: list[float]) -> str:
    return ratio_text([min(values), max(values)]) if values else DASH


def write_outputs(results: dict[str, Any], out: Path, update_readme: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    chart(results, out / "results.png")
    (out / "results.md").write_text(markdown(results, "results.png"))
    if update_readme:
        README.write_text(with_section(README.read_text(), readme_section(results, out)))


def with_section(text: str, section: str) -> str:
    """``text`` with the benchmark section replaced, or inserted after the "Options" section."""
    if START_MARKER in text and END_MARKER in text:
        before, rest = text.split(START_MARKER, 1)
        return before + section + rest.split(END_MARKER, 1)[1]
    match = re.search(r"^## Options$.*?(?=^## )", text, re.MULTILINE | re.DOTALL)
    if not match:
        raise SystemExit(f"{README} has neither a {START_MARKER} section nor an '## Options' section to follow")
    return text[: match.end()] + section + "\n\n" + text[match.end() :]
