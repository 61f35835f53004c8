"""The Flask project's observability option, over real HTTP under its production server
with two worker processes: the Prometheus counts on METRICS_PORT add up across the workers
to exactly what was sent, whichever worker answers the scrape; metrics never on the API's
port; request ids returned and in the server's log lines; spans reach an OTLP/HTTP receiver.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.baking import bake
from tests.scraping import requests_by_route, scrape
from tests.serving import free_port, serving

pytestmark = [pytest.mark.slow, pytest.mark.scale]

OPTIONS = [
    pytest.param("postgresql", True, id="postgresql-auth"),
    pytest.param("none", False, id="nodb-noauth"),
]
WORKERS = 2
POOL_SIZE = 5  # DATABASE_POOL_SIZE's default


class OTLPReceiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector reduced to what the test needs: POST /v1/traces, protobuf."""

    spans: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                service = {a.key: a.value.string_value for a in resource.resource.attributes}
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        attributes = {a.key: a.value.string_value for a in span.attributes}
                        self.spans.append({"name": span.name, "service": service, **attributes})
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def otlp_endpoint() -> Iterator[str]:
    OTLPReceiver.spans = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), OTLPReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def send(base_url: str, calls: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
    """Each call on a connection of its own, 8 at a time: both workers take a share."""
    fresh_connections = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=base_url, limits=fresh_connections, timeout=30) as client:

        def one(call: tuple[str, str, dict[str, Any]]) -> int:
            method, path, kwargs = call
            return client.request(method, path, **kwargs).status_code

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, calls))


@pytest.mark.parametrize(("database", "use_auth"), OPTIONS)
def test_metrics_request_ids_and_traces_across_workers(
    cookies: Any, tmp_path: Path, database_url: Any, otlp_endpoint: str, database: str, use_auth: bool
) -> None:
    baked = bake(cookies, "flask", database=database, use_auth=use_auth, use_observability=True)
    metrics_port = free_port()
    multiproc_dir = tmp_path / "prometheus"
    multiproc_dir.mkdir()  # empty at the start, as the Dockerfile leaves it
    settings = {
        "METRICS_PORT": str(metrics_port),
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # milliseconds between the exporter's batches
    }
    if database != "none":
        settings["DATABASE_URL"] = database_url(database)
    log = tmp_path / "server.log"
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    started = time.monotonic()
    with serving(baked, log, settings, workers=WORKERS) as base_url:
        ready = time.monotonic() - started
        before = requests_by_route(scrape(metrics_url))

        # Each call with the labels it must be counted under.
        Key = tuple[str, str, str]
        calls: list[tuple[str, str, dict[str, Any], Key]] = []
        calls += [("GET", "/health", {}, ("GET", "/health", "200"))] * 40
        # Unknown paths share one label; so does a method the path does not have.
        calls += [("GET", f"/no/such/page/{i}", {}, ("GET", "unmatched", "404")) for i in range(15)]
        calls += [("POST", "/health", {}, ("POST", "/health", "405"))] * 5
        expected: Counter[Key] = Counter()
        if use_auth:
            headers = {"Authorization": f"Bearer {register_and_log_in(base_url)}"}
            created = [
                httpx.post(f"{base_url}/api/v1/items", json={"name": f"n{i}"}, headers=headers, timeout=30)
                for i in range(10)
            ]
            assert [r.status_code for r in created] == [201] * 10
            expected.update({("POST", "/api/v1/auth/register", "201"): 1, ("POST", "/api/v1/auth/token", "200"): 1})
            expected["POST", "/api/v1/items", "201"] = 10
            item = ("GET", "/api/v1/items/<item_id>")  # the matched rule, not the path
            calls += [("GET", f"/api/v1/items/{r.json()['id']}", {"headers": headers}, (*item, "200")) for r in created]
            calls += [("GET", "/api/v1/items/999999", {"headers": headers}, (*item, "404"))] * 5
        statuses = send(base_url, [call[:3] for call in calls])
        assert statuses == [int(call[3][2]) for call in calls]
        expected.update(call[3] for call in calls)

        # Every worker counted some of them, and each scrape, whichever worker takes it,
        # reports the sum over both.
        counting_pids = {p.name.split("_")[1].removesuffix(".db") for p in multiproc_dir.glob("counter_*.db")}
        assert len(counting_pids) >= WORKERS, sorted(p.name for p in multiproc_dir.iterdir())
        scrapes = [scrape(metrics_url) for _ in range(6)]
        for samples in scrapes:
            assert requests_by_route(samples) - before == expected
        samples = scrapes[-1]

        health = (("method", "GET"), ("route", "/health"))
        assert samples["http_request_duration_seconds_count", health] >= 40
        assert samples["http_request_duration_seconds_bucket", tuple(sorted((*health, ("le", "+Inf"))))] >= 40
        if database != "none":
            # livesum: the pools of the live workers (the migration's process is gone).
            assert samples["db_pool_connections", (("state", "size"),)] == WORKERS * POOL_SIZE
            assert ("db_pool_connections", (("state", "checked_out"),)) in samples
        else:
            assert not [key for key in samples if key[0] == "db_pool_connections"]

        print(
            f"flask {database}: ready in {ready:.1f} s; {sum(expected.values())} requests counted exactly "
            f"across {len(counting_pids)} workers in each of {len(scrapes)} scrapes"
        )
        # Not on the API's port.
        assert httpx.get(f"{base_url}/metrics", timeout=10).status_code == 404

        # Request ids: a sane one is kept, an odd one replaced, a missing one made.
        sent = f"suite-{uuid.uuid4().hex}"
        kept = httpx.get(f"{base_url}/health", headers={"X-Request-ID": sent}, timeout=10)
        assert kept.headers["X-Request-ID"] == sent
        odd = httpx.get(f"{base_url}/health", headers={"X-Request-ID": "no spaces;"}, timeout=10)
        made = httpx.get(f"{base_url}/health", timeout=10).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-ID"])

        # Spans reach the OTLP receiver, with the route and the request id.
        deadline = time.monotonic() + 15
        while not [s for s in OTLPReceiver.spans if s.get("request_id") == sent]:
            assert time.monotonic() < deadline, f"no span with request id {sent}: {OTLPReceiver.spans[-5:]}"
            time.sleep(0.2)
    (span,) = [s for s in OTLPReceiver.spans if s.get("request_id") == sent]
    assert span["http.route"] == "/health"
    assert span["service"]["service.name"] == baked.slug
    if database != "none":
        assert any(s["name"].startswith("SELECT") for s in OTLPReceiver.spans), {s["name"] for s in OTLPReceiver.spans}

    text = log.read_text()
    lines = [line for line in text.splitlines() if f"[{sent}]" in line]
    assert any("GET /health 200" in line for line in lines), text[-3000:]
    assert re.search(rf"\[{made}\]: GET /health 200", text)


def register_and_log_in(base_url: str) -> str:
    credentials = {"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "a long passphrase"}
    assert httpx.post(f"{base_url}/api/v1/auth/register", json=credentials, timeout=30).status_code == 201
    token = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"username": credentials["email"], "password": credentials["password"]},
        timeout=30,
    )
    assert token.status_code == 200
    return str(token.json()["access_token"])
