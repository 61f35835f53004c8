"""The outputs: ``results.md`` (the answer, the headline ratios and every table), the root
README's section (the answer, the headline ratios and the chart), and ``results.json``."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

from benchmarks.answer import (
    DASH,
    DATABASE_TITLES,
    TIMES,
    answer,
    headline,
    label,
    ratio_text,
    spread,
    times_text,
)
from benchmarks.chart import chart
from benchmarks.load import SLOW_CLIENT_BOUND_SECONDS
from benchmarks.plan import HEADLINE_CONCURRENCY, REPLICA_CONCURRENCY, REPLICA_ROUTE
from benchmarks.servers import ALTERNATIVE_ITEMS_SERVER, FRAMEWORKS, TITLES, shipped
from benchmarks.summaries import select
from tests.baking import ROOT

DEFAULT_OUT = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
START_MARKER = "<!-- benchmarks:start -->"
END_MARKER = "<!-- benchmarks:end -->"


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
