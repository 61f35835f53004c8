"""The chart: requests/s and p99 of `/health` under every server, and of the items routes of
both generated services, at HEADLINE_CONCURRENCY connections (bars: medians, lines: ranges)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks.plan import HEADLINE_CONCURRENCY, ITEM_ROUTES
from benchmarks.servers import FRAMEWORKS, TITLES, shipped
from benchmarks.summaries import select


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = HEADLINE_CONCURRENCY
    figure, axes = plt.subplots(2, 2, figsize=(15, 10))

    def bars(
        ax: Any,
        groups: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]],
        metric: str,
        names: tuple[str, str],
        title: str,
        ylabel: str,
    ) -> None:
        width = 0.38
        for offset, index, colour in ((-width / 2, 1, "tab:blue"), (width / 2, 2, "tab:orange")):
            mids, lows, highs = [], [], []
            for _name, *pair in groups:
                values = [float(r[metric]) for r in pair[index - 1]] or [0.0]
                mid = statistics.median(values)
                mids.append(mid)
                lows.append(mid - min(values))
                highs.append(max(values) - mid)
            xs = [i + offset for i in range(len(groups))]
            ax.bar(xs, mids, width, yerr=[lows, highs], capsize=3, color=colour, label=names[index - 1])
        if any(len(line) > 12 for g in groups for line in g[0].splitlines()):
            ax.set_xticks(range(len(groups)), [g[0] for g in groups], rotation=20, ha="right", fontsize=8)
        else:
            ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)

    top = max(results["meta"]["settings"]["concurrencies"])

    def health_groups(first: dict[str, Any], second: dict[str, Any]) -> list[Any]:
        """Per server, two selections of its `/health` runs."""
        return [
            (
                f"{TITLES[s['framework']]}\n{s['label']}",
                select(results, kind="health", server=s["key"], **first),
                select(results, kind="health", server=s["key"], **second),
            )
            for s in results["servers"]
        ]

    bars(
        axes[0][0],
        health_groups({"app": "generated", "concurrency": c}, {"app": "bare", "concurrency": c}),
        "rps",
        ("generated", "bare"),
        f"GET /health, {c} connections: requests/s (bar: median, line: min\u2013max)",
        "requests/s",
    )
    latencies = health_groups({"app": "generated", "concurrency": c}, {"app": "generated", "concurrency": top})
    bars(
        axes[0][1],
        latencies,
        "p99_ms",
        (f"{c} connections", f"{top} connections"),
        "GET /health of the generated service: p99 latency",
        "p99 (ms)",
    )
    if any(group[1] for group in latencies):
        axes[0][1].set_yscale("log")
    item_groups = []
    for route in ITEM_ROUTES:
        for database in ("sqlite", "postgresql"):
            for auth in (False, True):
                criteria = {"kind": "items", "app": "generated", "route": route, "concurrency": c}
                criteria |= {"database": database, "auth": auth}
                fastapi, flask = (select(results, framework=f, server=shipped(f).key, **criteria) for f in FRAMEWORKS)
                if fastapi or flask:
                    short = {"GET /api/v1/items/{id}": "GET one", "POST /api/v1/items": "POST"}.get(route, "GET list")
                    where = {"sqlite": "SQLite", "postgresql": "PG"}[database]
                    item_groups.append((f"{short}\n{where}\n{'token' if auth else 'no auth'}", fastapi, flask))
    if item_groups:
        bars(
            axes[1][0],
            item_groups,
            "rps",
            ("FastAPI", "Flask"),
            f"Items routes under the shipped servers, {c} connections: requests/s",
            "requests/s",
        )
        bars(
            axes[1][1],
            item_groups,
            "p99_ms",
            ("FastAPI", "Flask"),
            f"Items routes under the shipped servers, {c} connections: p99 latency",
            "p99 (ms)",
        )
    else:
        for ax in axes[1]:
            ax.set_axis_off()
    figure.suptitle(f"Flask or FastAPI? Measured ({results['meta']['started']})")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
