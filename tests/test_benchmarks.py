"""The benchmark command (`python -m benchmarks`, or benchmarks/run.py) runs end to end on this
machine, writes its three outputs with figures for both frameworks (the generated service, and
the bare and minimal apps of benchmarks/apps/ on every route), and leaves nothing running. It
asserts no timing: the figures are the benchmark's to report, not the suite's to judge."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.baking import ROOT, bake, require_tool, server_problem

ROUTES = {"GET /health", "GET /api/v1/items/{id}", "GET /api/v1/items?limit=20", "POST /api/v1/items"}


def processes_under(folder: str) -> list[str]:
    """Processes whose working directory is inside ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(folder):
            found.append(f"{entry.name}: {command}")
    return found


def readme_section() -> str | None:
    """The README's benchmark section (the only part the command may write), or None."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- benchmarks:start -->.*?<!-- benchmarks:end -->", text, re.DOTALL)
    return match.group(0) if match else None


def measured(runs: list[dict[str, Any]], **criteria: Any) -> list[dict[str, Any]]:
    chosen = [run for run in runs if all(run[key] == value for key, value in criteria.items())]
    for run in chosen:
        assert run["requests"] > 0 and run["rps"] > 0, f"no requests measured: {run}"
        assert run["p99_ms"] >= run["p50_ms"] > 0, f"latencies out of order: {run}"
        assert run["peak_rss_mb"] > 0, f"no memory measured: {run}"
        assert run["cpu_ms_per_request"] > 0, f"no CPU time measured: {run}"
    return chosen


@pytest.mark.slow
def test_smoke_run_writes_json_table_and_chart(tmp_path: Path) -> None:
    require_tool(
        shutil.which("wrk"), "wrk, the benchmark's load generator, is not installed: sudo apt-get install -y wrk"
    )
    section_before = readme_section()
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"python -m benchmarks --smoke exited {completed.returncode}:\n{output}"

    results = json.loads((tmp_path / "results.json").read_text())
    assert not results["failures"], f"measurements failed: {results['failures']}"
    runs = results["runs"]
    # PostgreSQL takes part where it answers (.ci/run has it, and requires it).
    postgres = server_problem("postgresql") is None or os.environ.get("REQUIRE_DB_SERVERS") == "1"
    databases = {"sqlite", "postgresql"} if postgres else {"sqlite"}
    for framework in ("fastapi", "flask"):
        for app in ("generated", "bare", "generated-nodb"):
            assert measured(runs, kind="health", framework=framework, app=app), f"no /health of {framework} {app}"
        for app in ("generated", "minimal", "bare"):
            for database in databases:
                chosen = measured(runs, kind="items", framework=framework, app=app, database=database, auth=True)
                assert {run["route"] for run in chosen} == ROUTES, f"routes of the {app} {framework} app: {chosen}"
                if app != "generated":
                    # The hand-written apps answer every request of the run with a 2xx: the minimal one
                    # accepts the generated service's tokens and finds its items (else 401 or 404).
                    assert all(run["errors"] == 0 for run in chosen), f"{app} {framework} app failed: {chosen}"
        assert {row["database"] for row in results["summary"]["layers"]} == databases
        for row in results["summary"]["layers"]:
            assert row[framework]["generated_over_minimal"]["rps"], f"no generated/minimal ratio: {row}"
            assert row[framework]["generated_over_minimal"]["cpu_ms"], f"no generated/minimal CPU ratio: {row}"
            assert all(row["fastapi_over_flask"][app]["rps"] for app in ("bare", "minimal", "generated")), row
        assert results["summary"]["generated_over_bare"][framework]["32"], f"no /health ratio for {framework}"
        assert results["summary"]["shipped_over_baseline"][framework]["32"], f"no server ratio for {framework}"
        assert len(results["bake_seconds"][framework]) >= 1
        starts = [start for start in results["server_starts"] if start["framework"] == framework]
        assert starts and all(start["startup_s"] > 0 for start in starts)
        assert all(
            isinstance(s["slow_clients"]["answered"], bool)
            for s in starts
            if s["app"] == "generated" and "slow_clients" in s
        )

    # The replicas row runs where HAProxy and PostgreSQL do (.ci/run has both).
    haproxy = shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists()
    if haproxy and postgres:
        for framework in ("fastapi", "flask"):
            counts = {run["replicas"] for run in measured(runs, kind="replicas", framework=framework)}
            assert counts == {1, 2, 3}, f"replicas row of {framework}: {counts}"
            assert set(results["summary"]["replicas_over_one"][framework]) == {"1", "2", "3"}
        assert "Replicas behind HAProxy" in (tmp_path / "results.md").read_text()

    table = (tmp_path / "results.md").read_text()
    for title in ("FastAPI", "Flask"):
        rows = [line for line in table.splitlines() if line.startswith(f"| {title} |")]
        assert rows, f"results.md has no row for {title}:\n{table}"
        assert all(re.search(r"\| [\d,.]+ \|", row) for row in rows), f"a {title} row without figures:\n{table}"
    assert "](results.png)" in table
    assert "What the framework costs and what the template adds" in table
    assert {row["route"] for row in results["summary"]["layers"]} == ROUTES
    assert "**What the template adds**" in table

    chart = (tmp_path / "results.png").read_bytes()
    assert chart.startswith(b"\x89PNG\r\n\x1a\n") and len(chart) > 10_000

    work = re.search(r" into (/\S+)", output)
    assert work, f"the command did not say where it baked:\n{output}"
    assert not Path(work.group(1)).exists(), "the command left its working folder behind"
    assert not processes_under(work.group(1)), "the command left processes running"
    assert readme_section() == section_before, "a smoke run must not rewrite the README's benchmark section"


@pytest.mark.slow
def test_the_observability_cost_benchmark_measures_both_templates(tmp_path: Path) -> None:
    """benchmarks/observability.py serves each template with the option on and off and
    prints a ratio for each; a broken bake, start-up or wrk run makes it exit non-zero."""
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed (apt-get install -y wrk; .ci/run installs it)")
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "observability.py"), "--smoke", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    for title in ("FastAPI", "Flask"):
        assert re.search(rf"^  {title} +none +\d+\.\d\d-\d+\.\d\d \(median \d+\.\d\d\)$", output, re.MULTILINE), output
    assert not list(tmp_path.iterdir()), "--smoke writes no results"


def test_the_script_entry_runs_the_same_command() -> None:
    """`python benchmarks/run.py` (the command older instructions give) is the package's command."""
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "--only-items" in completed.stdout


def test_flask_is_measured_under_the_threads_its_project_ships(cookies: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's shipped Flask server runs, and is labelled, with the blocking threads the
    baked project's README command and Dockerfile give; when they disagree the run stops."""
    from benchmarks import servers

    monkeypatch.setattr(servers, "SERVERS", servers.SERVERS)  # ship_as replaces it: restored after
    baked = bake(cookies, "flask", use_docker=True)
    documented = re.findall(r"--blocking-threads (\d+)", (baked.path / "README.md").read_text())
    assert len(set(documented)) == 1, documented
    threads = documented[0]

    servers.ship_as(baked.path)
    server = servers.shipped("flask")
    command = server.command("app:app", 8000, 1)
    assert command[command.index("--blocking-threads") + 1] == threads, command
    assert server.label == f"granian (wsgi, {threads} blocking threads)"

    dockerfile = baked.path / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(f"GRANIAN_BLOCKING_THREADS={threads}", "GRANIAN_BLOCKING_THREADS=3")
    )
    with pytest.raises(SystemExit, match="blocking-threads"):
        servers.ship_as(baked.path)
