"""Metrics, request ids, traces and Sentry, as the service wires them."""

import gzip
import importlib
import io
import json
import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import sentry_sdk
from fastapi import APIRouter, FastAPI
from helpers import make_settings
from httpx import ASGITransport, AsyncClient
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from pydantic import ValidationError

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.core.logging import ContextFilter, JsonFormatter
from {{ cookiecutter.project_slug }}.main import create_app
from {{ cookiecutter.project_slug }}.observability import tracing
from {{ cookiecutter.project_slug }}.observability.metrics import UNMATCHED_ROUTE, forget_dead_processes
from {{ cookiecutter.project_slug }}.observability.request_id import request_id_var

logger = logging.getLogger("{{ cookiecutter.project_slug }}.test")
HEX_ID = set("0123456789abcdef")


def requests_total(method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def dispose(app: FastAPI) -> None:
    """Close the app's database connections, where it has a database."""
    engine = getattr(app.state, "engine", None)
    if engine is not None:
        await engine.dispose()


def with_test_routes(app: FastAPI) -> FastAPI:
    nested = APIRouter(prefix="/nested")

    @nested.get("/parts/{part_id}")
    async def part(part_id: int) -> dict[str, int]:
        return {"id": part_id}

    app.include_router(nested, prefix="/outer")

    @app.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        logger.info("looking at thing %s", thing_id)
        return {"id": thing_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("hidden internals")

    return app


@pytest.fixture
async def observed(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with two routes of the tests' own: a templated one and a failing one."""
    app = with_test_routes(create_app(settings))
    yield app
    await dispose(app)


@pytest.fixture
async def observed_client(observed: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=observed), base_url="http://test") as client:
        yield client


# --- request ids -----------------------------------------------------------


async def test_a_sane_request_id_is_echoed(observed_client: AsyncClient) -> None:
    response = await observed_client.get("/things/1", headers={"X-Request-ID": "abc-123.x:y"})
    assert response.headers["x-request-id"] == "abc-123.x:y"


@pytest.mark.parametrize(
    "sent", [None, "", "a" * 129, "has space", 'quote"', "new\nline", "ünicode"]
)
async def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(
    observed_client: AsyncClient, sent: str | None
) -> None:
    headers = {} if sent is None else {b"x-request-id": sent.encode()}
    try:
        response = await observed_client.get("/things/1", headers=headers)
    except httpx.LocalProtocolError:
        pytest.skip("the client itself refuses this header value")
    made = response.headers["x-request-id"]
    assert len(made) == 32
    assert set(made) <= HEX_ID
    again = await observed_client.get("/things/1", headers=headers)
    assert again.headers["x-request-id"] != made


async def test_every_answer_carries_the_id_even_refusals_and_errors(
    observed_client: AsyncClient,
) -> None:
    for method, path in (("GET", "/nowhere"), ("POST", "/health"), ("GET", "/boom")):
        response = await observed_client.request(method, path, headers={"X-Request-ID": "r-1"})
        assert response.status_code in (404, 405, 500)
        assert response.headers["x-request-id"] == "r-1"


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_every_log_line_of_a_request_carries_its_id(
    observed_client: AsyncClient, log_format: str
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(name)s [%(request_id)s]: %(message)s")
    )
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        await observed_client.get("/things/7", headers={"X-Request-ID": "req-7"})
        await observed_client.get("/boom", headers={"X-Request-ID": "req-boom"})
        logger.info("between requests")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = stream.getvalue()
    if log_format == "json":
        records = [json.loads(line) for line in text.splitlines()]
        ids = {
            (r["logger"].rsplit(".", 1)[-1], r["message"][:14]): r["request_id"] for r in records
        }
        assert ids[("test", "looking at thi")] == "req-7"
        assert ids[("request", "GET /things/7 ")] == "req-7"
        assert ids[("errors", "unhandled erro")] == "req-boom"
        assert ids[("request", "GET /boom 500 ")] == "req-boom"
        assert ids[("test", "between reques")] == "-"
    else:
        assert "test [req-7]: looking at thing 7" in text
        assert "request [req-7]: GET /things/7 200" in text
        assert "errors [req-boom]: unhandled error on GET /boom" in text
        assert "test [-]: between requests" in text


def test_the_console_handler_adds_the_id_to_every_record(observed: FastAPI) -> None:
    console = logging.getLogger().handlers[0]
    record = logging.makeLogRecord({"msg": "hello"})
    outer = request_id_var.set("abc")
    try:
        assert console.filter(record)
    finally:
        request_id_var.reset(outer)
    assert vars(record)["request_id"] == "abc"


# --- metrics -----------------------------------------------------------------


async def test_requests_are_counted_by_route_template_not_by_path(
    observed_client: AsyncClient,
) -> None:
    before = requests_total("GET", "/things/{thing_id}", 200)
    for thing_id in (1, 2, 3):
        assert (await observed_client.get(f"/things/{thing_id}")).status_code == 200
    assert requests_total("GET", "/things/{thing_id}", 200) == before + 3
    assert requests_total("GET", "/things/1", 200) == 0
    template = "/outer/nested/parts/{part_id}"
    before = requests_total("GET", template, 200)
    assert (await observed_client.get("/outer/nested/parts/5")).status_code == 200
    assert requests_total("GET", template, 200) == before + 1
    before = requests_total("DELETE", template, 405)
    assert (await observed_client.delete("/outer/nested/parts/5")).status_code == 405
    assert requests_total("DELETE", template, 405) == before + 1


async def test_the_schema_route_is_counted_by_its_path(observed_client: AsyncClient) -> None:
    before = requests_total("GET", "/openapi.json", 200)
    await observed_client.get("/openapi.json")
    await observed_client.get("/openapi.json")
    assert requests_total("GET", "/openapi.json", 200) == before + 2


async def test_unknown_paths_share_one_label(observed_client: AsyncClient) -> None:
    before = requests_total("GET", UNMATCHED_ROUTE, 404)
    for path in ("/a", "/b/c", "/.env"):
        assert (await observed_client.get(path)).status_code == 404
    assert requests_total("GET", UNMATCHED_ROUTE, 404) == before + 3
    assert requests_total("GET", "/a", 404) == 0


async def test_statuses_methods_and_durations_are_recorded(observed_client: AsyncClient) -> None:
    wrong_method = requests_total("POST", "/health", 405)
    failed = requests_total("GET", "/boom", 500)
    odd_method = requests_total("other", "/health", 405)
    labels = {"method": "GET", "route": "/boom"}
    observed_before = REGISTRY.get_sample_value("http_request_duration_seconds_count", labels)
    await observed_client.post("/health")
    await observed_client.get("/boom")
    await observed_client.request("BREW", "/health")
    assert requests_total("POST", "/health", 405) == wrong_method + 1
    assert requests_total("GET", "/boom", 500) == failed + 1
    assert requests_total("other", "/health", 405) == odd_method + 1
    observed_after = REGISTRY.get_sample_value("http_request_duration_seconds_count", labels)
    assert observed_after == (observed_before or 0) + 1
    bucket = {**labels, "le": "+Inf"}
    assert (
        REGISTRY.get_sample_value("http_request_duration_seconds_bucket", bucket) == observed_after
    )


async def test_metrics_are_served_on_their_own_port_not_the_api(settings: Settings) -> None:
    port = free_port()
    app = create_app(settings.model_copy(update={"metrics_port": port}))
    transport = ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        await client.get("/health")
        on_api = await client.get("/metrics")
        async with AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
    assert on_api.status_code == 404
    assert scraped.status_code == 200
    assert 'http_requests_total{method="GET",route="/health",status="200"}' in scraped.text
    assert "http_request_duration_seconds_bucket" in scraped.text
    # Stopped with the app: nothing listens there any more.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    await dispose(app)


async def test_metrics_port_zero_means_no_listener_and_no_counting(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics_port": 0}))
    before = requests_total("GET", "/health", 200)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        response = await client.get("/health")
    assert response.headers["x-request-id"]
    assert requests_total("GET", "/health", 200) == before
    await dispose(app)


def test_the_gauges_of_dead_processes_are_dropped(tmp_path: Path) -> None:
    gone = os.getpid() + 4_000_000  # above any pid the kernel hands out
    for pid in (os.getpid(), gone):
        (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
    (tmp_path / f"counter_{gone}.db").write_bytes(b"")
    forget_dead_processes(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"counter_{gone}.db",
        f"gauge_livesum_{os.getpid()}.db",
    ]


def test_the_multiprocess_directory_must_be_exported_and_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match="environment only"):
        make_settings(prometheus_multiproc_dir=str(tmp_path))
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(a_file))
    with pytest.raises(ValidationError, match="not a directory"):
        make_settings()
    missing = tmp_path / "made-by-the-service"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(missing))
    settings = make_settings(metrics_port=free_port())
    assert settings.prometheus_multiproc_dir == str(missing)
    create_app(settings)
    assert missing.is_dir()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("metrics_port", 70000),
        ("metrics_port", -1),
        ("otel_exporter_otlp_endpoint", "collector:4318"),
        ("otel_traces_exporter", "zipkin"),
        ("sentry_dsn", "not a dsn"),
    ],
)
def test_observability_settings_are_checked(setting: str, value: object) -> None:
    with pytest.raises(ValidationError, match=setting):
        make_settings(**{setting: value})


# --- traces --------------------------------------------------------------------


def test_no_endpoint_no_spans(observed: FastAPI) -> None:
    assert observed.state.tracer_provider is None


def test_the_endpoint_gets_the_signal_path() -> None:
    settings = make_settings(otel_exporter_otlp_endpoint="http://collector:4318/")
    exporter = tracing.span_exporter(settings)
    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint == "http://collector:4318/v1/traces"
    off = settings.model_copy(update={"otel_traces_exporter": "none"})
    assert tracing.span_exporter(off) is None


def server_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Every span the apps made after this fixture, in memory instead of over OTLP."""
    exporter = InMemorySpanExporter()
    monkeypatch.setattr(tracing, "span_exporter", lambda _settings: exporter)
    return exporter


async def test_a_request_makes_a_server_span_named_after_its_route(
    settings: Settings, spans: InMemorySpanExporter
) -> None:
    app = with_test_routes(create_app(settings))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        await client.get("/things/42", headers={"X-Request-ID": "trace-me"})
    app.state.tracer_provider.force_flush()
    (server,) = server_spans(spans)
    assert server.name == "GET /things/{thing_id}"
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/things/{thing_id}"
    assert server.attributes["request_id"] == "trace-me"
    assert server.resource.attributes["service.name"] == "{{ cookiecutter.project_slug }}"
    app.state.tracer_provider.shutdown()
    await dispose(app)


# --- Sentry ----------------------------------------------------------------------


class SentryStandIn(BaseHTTPRequestHandler):
    """Answers like Sentry's ingestion endpoint and keeps what it was sent."""

    received: list[bytes] = []  # noqa: RUF012 - shared by the server's handler instances

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            body = importlib.import_module("brotli").decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def sentry_server() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []
    handler = type("Handler", (SentryStandIn,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://public@127.0.0.1:{server.server_address[1]}/1", received
    server.shutdown()
    server.server_close()
    # The SDK is process-wide: leave no client sending anywhere for the tests after this one.
    sentry_sdk.get_client().close()
    sentry_sdk.init()


async def test_an_unhandled_error_reaches_sentry(
    settings: Settings, sentry_server: tuple[str, list[bytes]]
) -> None:
    dsn, received = sentry_server
    app = with_test_routes(create_app(settings.model_copy(update={"sentry_dsn": dsn})))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "sentry-1"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert not sentry_sdk.get_client().should_send_default_pii()
    sentry_sdk.flush(timeout=5)
    events = [
        json.loads(line)
        for body in received
        for line in body.splitlines()
        if line.startswith(b"{") and b'"exception"' in line
    ]
    assert len(events) == 1, received
    (event,) = events
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["environment"] == "test"
    assert event["tags"]["request_id"] == "sentry-1"
    await dispose(app)
