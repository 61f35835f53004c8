"""The answer and the headline ratios: sentences worded from a run's figures (every number in
them is computed), and the ways figures are written (ranges, ratios, aims)."""

from __future__ import annotations

from typing import Any

from benchmarks.plan import HEADLINE_CONCURRENCY, ITEM_ROUTES
from benchmarks.servers import ALTERNATIVE_ITEMS_SERVER, FRAMEWORKS, TITLES, baseline, server_by_key, shipped
from benchmarks.summaries import median_of, select

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
            f"  - generated service / bare {TITLES[framework]} app, both under {label(results, ship.key)}: "
            f"**{ratio_text(over_bare)}** ({target(over_bare, BARE_TARGET)}); baked without a database, so "
            f"without the `SELECT 1`: {ratio_text(nodb)} ({target(nodb, BARE_TARGET)})",
            f"  - {label(results, ship.key)} / {base.label}, generated service: **{ratio_text(over_base)}\u00d7** "
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
            f"**What the server contributes, {TITLES[framework]}:** {label(results, ship.key)} gives the "
            "generated `/health` "
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
            f" Among the {TITLES[framework]} candidates (medians), {label(results, ship.key)} has the most requests/s "
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
            f"connection count): {label(results, shipped('flask').key)} serves {per_route} the requests/s of the "
            f"same server with one blocking thread, more in {sum(share > 1 for share in every)} of {len(every)} "
            "comparisons."
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
