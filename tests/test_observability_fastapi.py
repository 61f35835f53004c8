"""The FastAPI observability option over real HTTP, under the production server with two
worker processes: the metrics a scrape returns add up exactly what both workers answered,
they are not on the API's port, request ids come back and land in the log lines, and
traces reach an OTLP/HTTP receiver. (Sentry is tested by the project's own suite: the
running service has no route that fails on purpose.)"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import bake
from tests.scraping import requests_by_route, scrape
from tests.serving import free_port, secret_key, serving

pytestmark = [pytest.mark.slow, pytest.mark.scale]

CASES = [
    pytest.param("postgresql", True, id="postgresql-auth"),
    pytest.param("none", False, id="nodb-noauth"),
]
WORKERS = 2


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, list[bytes]]]:
    """A stand-in collector: accepts POST /v1/traces and keeps the bodies."""
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/v1/traces":
                bodies.append(body)
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


def per_worker_totals(directory: Path) -> dict[int, float]:
    """http_requests_total as each worker process wrote it (one file per process)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    totals: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        single = directory.parent / f"one-{path.stem}"
        single.mkdir()
        (single / path.name).write_bytes(path.read_bytes())
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(single))  # type: ignore[no-untyped-call]
        value = sum(
            s.value
            for family in registry.collect()
            if family.name == "http_requests"
            for s in family.samples
            if s.name == "http_requests_total"
        )
        totals[int(path.stem.removeprefix("counter_"))] = value
    return totals


def drive(base_url: str, calls: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    """Each call on a fresh connection, 8 at a time: both workers get some."""

    def one(call: tuple[str, str, dict[str, Any]]) -> httpx.Response:
        method, path, options = call
        return httpx.request(method, f"{base_url}{path}", timeout=30, **options)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, calls))


def api_calls(base_url: str, baked: Any) -> tuple[list[tuple[str, str, dict[str, Any]]], Counter[tuple[str, str, str]]]:
    """The calls to send, and what each must be counted as: (method, route, status)."""
    calls: list[tuple[str, str, dict[str, Any]]] = []
    expected: Counter[tuple[str, str, str]] = Counter()

    def add(n: int, method: str, path: str, route: str, status: int, **options: Any) -> None:
        for _ in range(n):
            headers = {"X-Request-ID": f"obs-{route.strip('/').replace('/', '.')}-{status}-{len(calls)}"}
            calls.append((method, path, {"headers": headers, **options}))
        expected[(method, route, str(status))] += n

    add(30, "GET", "/health", "/health", 200)
    add(7, "GET", "/no/such/path", "unmatched", 404)
    add(3, "GET", "/.env", "unmatched", 404)
    add(4, "POST", "/health", "/health", 405)
    add(5, "GET", "/openapi.json", "/openapi.json", 200)
    if baked.context["database"] != "none":
        # A user and a token made beforehand (not counted here: see the caller).
        token = api_token(base_url)
        auth = {"Authorization": f"Bearer {token}"}
        add(6, "GET", "/api/v1/items", "/api/v1/items", 401)
        add(2, "DELETE", "/api/v1/items", "/api/v1/items", 405)
        for i in range(10):
            calls.append(("POST", "/api/v1/items", {"headers": auth, "json": {"name": f"item {i}"}}))
        expected[("POST", "/api/v1/items", "201")] += 10
        for item_id in (1, 2, 3, 999_999):
            calls.append(("GET", f"/api/v1/items/{item_id}", {"headers": auth}))
    return calls, expected


def api_token(base_url: str) -> str:
    credentials = {"email": "watcher@example.com", "password": "correct horse battery"}
    httpx.post(f"{base_url}/api/v1/auth/register", json=credentials, timeout=30)
    answer = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"username": credentials["email"], "password": credentials["password"]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def spans_from(bodies: list[bytes]) -> list[tuple[str, str, dict[str, Any]]]:
    """(service name, span name, attributes) of every span received."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    spans = []
    for body in bodies:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: a.value.string_value or a.value.int_value for a in span.attributes}
                    spans.append((resource["service.name"], span.name, attributes))
    return spans


@pytest.mark.parametrize(("database", "use_auth"), CASES)
def test_observability_under_two_workers(
    cookies: Any, tmp_path: Path, database_url: Any, database: str, use_auth: bool
) -> None:
    baked = bake(cookies, "fastapi", database=database, use_auth=use_auth, use_observability=True)
    metrics_port = free_port()
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    log = tmp_path / "server.log"
    with otlp_receiver() as (collector, bodies):
        settings = {
            "METRICS_PORT": str(metrics_port),
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "LOG_FORMAT": "json",
        }
        if database != "none":
            settings["DATABASE_URL"] = database_url(database)
            settings["SECRET_KEY"] = secret_key(baked)
        with serving(baked, log, settings, workers=WORKERS) as base_url:
            calls, expected = api_calls(base_url, baked)
            before = requests_by_route(scrape(f"http://127.0.0.1:{metrics_port}/metrics"))
            answers = drive(base_url, calls)
            if database != "none":
                item_answers = answers[-4:]
                statuses = sorted(a.status_code for a in item_answers)
                assert statuses.count(404) >= 1, statuses
                for answer in item_answers:
                    expected[("GET", "/api/v1/items/{item_id}", str(answer.status_code))] += 1
            scrapes = [scrape(f"http://127.0.0.1:{metrics_port}/metrics") for _ in range(6)]
            per_worker = per_worker_totals(multiproc)
            on_api = httpx.get(f"{base_url}/metrics", timeout=10)
            made = httpx.get(f"{base_url}/health", timeout=10)
            echoed = httpx.get(f"{base_url}/health", headers={"X-Request-ID": "mine-1"}, timeout=10)
            # Traces: the batch leaves every 200 ms.
            deadline = time.monotonic() + 20
            while not any(b"GET /health" in body for body in bodies) and time.monotonic() < deadline:
                time.sleep(0.2)

    # Every scrape, whichever worker answered it, gives the same totals: the sums of both.
    after = [requests_by_route(samples) for samples in scrapes]
    assert all(counts == after[0] for counts in after), "scrapes answered by different workers disagree"
    sent = Counter({key: after[0][key] - before[key] for key in after[0]})
    sent = +sent  # drop the zero deltas
    assert sent == expected, f"counted {dict(sent)}\nsent    {dict(expected)}"
    assert not any(route.startswith(("/no/", "/api/v1/items/1")) for _, route, _ in after[0])
    print(f"{database}: {sum(expected.values())} requests over {len(per_worker)} worker files: {per_worker}")
    serving_workers = [pid for pid, total in per_worker.items() if total > 0]
    assert len(serving_workers) == WORKERS, f"requests were not spread over both workers: {per_worker}"
    assert sum(per_worker.values()) == sum(after[0].values())

    samples = scrapes[0]
    health_count = sum(
        v
        for (n, labels), v in samples.items()
        if n == "http_request_duration_seconds_count" and dict(labels) == {"method": "GET", "route": "/health"}
    )
    assert health_count >= expected[("GET", "/health", "200")]
    assert any(n == "http_request_duration_seconds_bucket" for n, _ in samples)
    if database != "none":
        pool = {dict(labels)["state"]: v for (n, labels), v in samples.items() if n == "db_pool_connections"}
        assert pool["size"] == WORKERS * 5, pool  # DATABASE_POOL_SIZE per worker
        assert pool["checked_out"] == 0, pool
    else:
        assert not any(n == "db_pool_connections" for n, _ in samples)

    assert on_api.status_code == 404, "the metrics must not be served on the API's port"
    assert echoed.headers["x-request-id"] == "mine-1"
    assert len(made.headers["x-request-id"]) == 32

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    request_lines = {line["request_id"]: line for line in lines if line["logger"].endswith(".request")}
    for _, path, options in calls:
        request_id = options["headers"].get("X-Request-ID")
        if request_id:
            assert request_lines[request_id]["path"] == path
    assert request_lines["mine-1"]["path"] == "/health"
    assert all("request_id" in line for line in lines), [line for line in lines if "request_id" not in line][:3]

    spans = spans_from(bodies)
    assert spans, "no span reached the OTLP receiver"
    assert {service for service, _, _ in spans} == {baked.slug}
    names = Counter(name for _, name, _ in spans)
    assert names["GET /health"] >= 1, names
    health_ids = {attrs.get("request_id") for _, name, attrs in spans if name == "GET /health"}
    assert "mine-1" in health_ids, health_ids
    if database != "none":
        statements = [name for name in names if name.split()[0] in ("SELECT", "INSERT")]
        assert statements, f"no database span: {names}"
        assert names["GET /api/v1/items/{item_id}"] == 4, names
