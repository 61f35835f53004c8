from __future__ import annotations

import gzip
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
import sentry_sdk
from flask import Flask
from flask.testing import FlaskClient
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from {{ cookiecutter.project_slug }} import create_app, observability
from {{ cookiecutter.project_slug }}.config import ConfigError, Settings
from {{ cookiecutter.project_slug }}.logs import TEXT_FORMAT

from .helpers import make_config


def count(route: str, status: str, method: str = "GET") -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_request_id_is_made_and_returned(client: FlaskClient) -> None:
    first, second = client.get("/health"), client.get("/missing")
    assert len(first.headers["X-Request-ID"]) == 32
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "sent", ["abc-123", "0af7651916cd43dd8448eb211c80319c", "a.b:c_d", "q+/Z=="]
)
def test_a_sane_request_id_is_kept(client: FlaskClient, sent: str) -> None:
    assert client.get("/health", headers={"X-Request-ID": sent}).headers["X-Request-ID"] == sent


@pytest.mark.parametrize("sent", ["a" * 129, "two words", "line\\nbreak", "<script>", "é"])
def test_an_odd_request_id_is_replaced(client: FlaskClient, sent: str) -> None:
    returned = client.get("/health", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert returned != sent
    assert len(returned) == 32


def test_every_log_line_of_a_request_carries_its_id(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    def fail() -> str:
        logging.getLogger("{{ cookiecutter.project_slug }}.views").warning("about to fail")
        raise RuntimeError("boom")

    app.add_url_rule("/fail", "fail", fail)
    caplog.set_level(logging.INFO)
    response = client.get("/fail", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    records = [r for r in caplog.records if r.name.startswith("{{ cookiecutter.project_slug }}")]
    # The app's own line, the error with its traceback, the request line.
    assert {r.name.rsplit(".", 1)[-1] for r in records} >= {"views", "errors", "request"}
    assert {getattr(r, "request_id", None) for r in records} == {"req-42"}
    line = logging.Formatter(TEXT_FORMAT).format(records[-1])
    assert "[req-42]" in line
    assert "GET /fail 500" in line


def test_a_line_outside_a_request_has_a_placeholder_id(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("{{ cookiecutter.project_slug }}").info("starting")
    assert caplog.records[-1].request_id == "-"  # type: ignore[attr-defined]


def test_requests_are_counted_by_route_and_status(client: FlaskClient) -> None:
    # A wrong method counts under the route of its path; an unknown path under `unmatched`.
    before = (count("/health", "200"), count("unmatched", "404"), count("/health", "405", "POST"))
    client.get("/health")
    client.get("/health")
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")
    client.post("/health")
    after = (count("/health", "200"), count("unmatched", "404"), count("/health", "405", "POST"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 2, 1]
    labels = {"method": "GET", "route": "/health"}
    assert REGISTRY.get_sample_value("http_request_duration_seconds_count", labels)


def test_odd_methods_share_one_label(client: FlaskClient) -> None:
    before = count("/health", "405", "other")
    client.open("/health", method="BREW")
    after = count("/health", "405", "other")
    assert after - before == 1
{%- if cookiecutter.database != "none" %}


def test_the_pool_is_measured(client: FlaskClient) -> None:
    client.get("/health")
    assert REGISTRY.get_sample_value("db_pool_connections", {"state": "size"}) == 5
    checked_out = REGISTRY.get_sample_value("db_pool_connections", {"state": "checked_out"})
    assert checked_out is not None
    assert checked_out >= 0
{%- endif %}


@pytest.fixture
def metrics_url() -> Iterator[str]:
    port = free_port()
    listener = observability.start_metrics_listener(Settings.load({"metrics_port": port}))
    assert listener is not None
    assert listener.server_address[1] == port
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        listener.shutdown()
        listener.server_close()
        observability._listener = None


def test_metrics_are_served_on_their_own_port(client: FlaskClient, metrics_url: str) -> None:
    client.get("/health")
    scraped = httpx.get(metrics_url, timeout=5)
    assert scraped.status_code == 200
    assert 'http_requests_total{method="GET",route="/health",status="200"}' in scraped.text
    assert "http_request_duration_seconds_bucket" in scraped.text
    # Not on the API's port.
    assert client.get("/metrics").status_code == 404


def test_metrics_port_zero_opens_nothing() -> None:
    assert observability.start_metrics_listener(Settings.load({"metrics_port": 0})) is None


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("metrics_port", "70000", "METRICS_PORT: Input should be less than or equal to 65535"),
        ("prometheus_multiproc_dir", "/no/such/dir", "PROMETHEUS_MULTIPROC_DIR: '/no/such/dir'"),
        ("otel_exporter_otlp_endpoint", "collector:4318", "OTEL_EXPORTER_OTLP_ENDPOINT: expected"),
        ("otel_traces_exporter", "zipkin", "OTEL_TRACES_EXPORTER: Input should be"),
        ("sentry_dsn", "not-a-dsn", "SENTRY_DSN: expected"),
    ],
)
def test_a_bad_observability_setting_is_one_clear_line(name: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=rf"^Invalid settings: {reason}"):
        Settings.load({name: value})


def test_traces_are_exported_only_when_set_up() -> None:
    assert observability.span_exporter(Settings.load()) is None
    assert isinstance(
        observability.span_exporter(Settings.load({"otel_traces_exporter": "console"})),
        ConsoleSpanExporter,
    )
    endpoint = {"otel_exporter_otlp_endpoint": "http://collector:4318/"}
    exporter = observability.span_exporter(Settings.load(endpoint))
    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint == "http://collector:4318/v1/traces"
    none = Settings.load({**endpoint, "otel_traces_exporter": "none"})
    assert observability.span_exporter(none) is None


def test_a_request_is_traced(app: Flask, client: FlaskClient) -> None:
    exporter = InMemorySpanExporter()
    observability.trace(app, SimpleSpanProcessor(exporter), "test")
    response = client.get("/health", headers={"X-Request-ID": "traced-1"})
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    (server,) = [span for span in spans if span.kind == SpanKind.SERVER]
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/health"
    assert server.attributes["request_id"] == "traced-1"
{%- if cookiecutter.database != "none" %}
    # The health check's SELECT, inside the request's span.
    (select,) = [span for span in spans if span.name.startswith("SELECT")]
    assert select.kind == SpanKind.CLIENT
    assert select.parent is not None
    assert select.parent.span_id == server.context.span_id
{%- endif %}


class SentryEndpoint(BaseHTTPRequestHandler):
    """Stands in for Sentry: keeps every envelope posted to it."""

    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sentry_dsn() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SentryEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SentryEndpoint.received = []
    try:
        yield f"http://public@127.0.0.1:{server.server_address[1]}/1"
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: off again for the other tests
        server.shutdown()
        server.server_close()


def test_an_unhandled_error_reaches_sentry(app: Flask, sentry_dsn: str) -> None:
    settings = Settings.load({"sentry_dsn": sentry_dsn, "environment": "test"})
    observability.report_errors_to_sentry(settings)

    def fail() -> str:
        raise LookupError("sentry test")

    app.add_url_rule("/fail", "fail", fail)
    # Joined here, so that the source lines the event quotes do not hold them.
    credential, cookie = "-".join(["cred", "ential"]), "-".join(["coo", "kie"])
    headers = {"X-Request-ID": "err-7", "Authorization": f"Bearer {credential}", "Cookie": cookie}
    response = app.test_client().get("/fail", headers=headers)
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)
    events = [body.replace(b" ", b"") for body in SentryEndpoint.received if b"LookupError" in body]
    assert len(events) == 1
    assert b'"request_id":"err-7"' in events[0]
    assert b'"environment":"test"' in events[0]
    assert b"/fail" in events[0]
    assert credential.encode() not in events[0]
    assert cookie.encode() not in events[0]


def test_sentry_is_set_up_by_its_setting(sentry_dsn: str) -> None:
    create_app(make_config(SENTRY_DSN=sentry_dsn))
    assert sentry_sdk.get_client().is_active()
