"""What a running service tells about itself: a request id in every answer and log line,
Prometheus metrics on their own port, OpenTelemetry traces and Sentry errors when set up.

``init_app`` binds it to an app, like any Flask extension; ``start_metrics_listener`` is
called by the WSGI module only, so tests and `flask` commands never open a port.
"""

from __future__ import annotations

import atexit
import glob
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import sentry_sdk
from flask import Flask
from opentelemetry.instrumentation.flask import FlaskInstrumentor
{%- if cookiecutter.database != "none" %}
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
{%- endif %}
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.modules import ModulesIntegration
{%- if cookiecutter.database != "none" %}
from sqlalchemy import Engine, event
from sqlalchemy.pool import QueuePool
{%- endif %}
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .config import Settings
{%- if cookiecutter.database != "none" %}
from .extensions import db
{%- endif %}

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

logger = logging.getLogger(__name__)

# --- request id -------------------------------------------------------------------------

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept when it is short and plain (a uuid, a trace id, a ULID, base64);
# anything else could forge or break log lines, so a new one is made instead.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
# "-" outside a request (start-up, background threads).
request_id: ContextVar[str] = ContextVar("request_id", default="-")
_record_factory_installed = False


def incoming_or_new_request_id(environ: dict[str, Any]) -> str:
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    return incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def add_request_id_to_log_records() -> None:
    """Every LogRecord, whoever makes it (this app, Flask, any library), carries
    ``request_id``; a record factory reaches records that a handler filter would miss."""
    global _record_factory_installed
    if _record_factory_installed:
        return
    _record_factory_installed = True
    make_record = logging.getLogRecordFactory()

    def with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    logging.setLogRecordFactory(with_request_id)


# --- metrics ----------------------------------------------------------------------------

# Labels stay few whatever clients send: unknown paths share one route, odd methods one name.
UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """The process's metrics, made on first use rather than on import: prometheus_client
    picks its multi-process storage when imported, from PROMETHEUS_MULTIPROC_DIR, which
    `.env` may only set once the WSGI module has loaded it."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.requests: Counter = Counter(
            "http_requests_total", "HTTP requests answered", ["method", "route", "status"]
        )
        self.duration: Histogram = Histogram(
            "http_request_duration_seconds",
            "Time from the request to the start of its answer",
            ["method", "route"],
        )
        # livesum: the sum over the worker processes that are alive.
        self.pool: Gauge = Gauge(
            "db_pool_connections",
            "Database connections of the pools",
            ["state"],
            multiprocess_mode="livesum",
        )
        # labels() validates and locks on every call; the children are few, keep them.
        self._counted: dict[tuple[str, str, str], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def observe(self, method: str, route: str, status: str, seconds: float) -> None:
        counter = self._counted.get((method, route, status))
        if counter is None:
            counter = self._counted[method, route, status] = self.requests.labels(
                method, route, status
            )
        counter.inc()
        histogram = self._timed.get((method, route))
        if histogram is None:
            histogram = self._timed[method, route] = self.duration.labels(method, route)
        histogram.observe(seconds)


_metrics: Metrics | None = None


def metrics() -> Metrics:
    global _metrics
    if _metrics is None:
        _metrics = Metrics()
    return _metrics


def route_of(app: Flask, environ: dict[str, Any]) -> str:
    """The rule the request matched (its template, never the path). A method the path does
    not have (405) matched no rule, yet its path is a route's: that rule, found again with a
    method it allows, so a client calling a route wrongly shows under that route. Anything
    else that matched no rule is `unmatched`."""
    # Flask's request object, which werkzeug keeps in the environ.
    request = environ.get("werkzeug.request")
    rule = getattr(request, "url_rule", None)
    if rule is not None:
        return str(rule.rule)
    refused = getattr(request, "routing_exception", None)
    if isinstance(refused, MethodNotAllowed) and refused.valid_methods:
        try:
            adapter = app.url_map.bind_to_environ(environ)
            allowed = next(iter(refused.valid_methods))
            found, _ = adapter.match(method=allowed, return_rule=True)
        except HTTPException:
            return UNMATCHED_ROUTE
        return str(found.rule)
    return UNMATCHED_ROUTE


def observe_requests(app: Flask) -> None:
    """A thin WSGI wrapper, outside the app's own: the request id is set before anything
    logs and sent back on every answer; the count and duration are recorded once the
    status is known, by the route the request matched (its rule, never the raw path)."""
    wsgi_app = app.wsgi_app
    recorder = metrics()

    def observed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        current = incoming_or_new_request_id(environ)
        previous = request_id.set(current)

        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            headers.append((REQUEST_ID_HEADER, current))
            method = environ["REQUEST_METHOD"]
            recorder.observe(
                method if method in KNOWN_METHODS else "other",
                route_of(app, environ),
                status[:3],
                time.perf_counter() - started,
            )
            return start_response(status, headers, *args)

        try:
            return wsgi_app(environ, start)
        finally:
            request_id.reset(previous)

    app.wsgi_app = observed  # type: ignore[method-assign]
{%- if cookiecutter.database != "none" %}


def observe_pool(app: Flask) -> None:
    """``db_pool_connections``: the pool's size and the connections checked out of it."""
    with app.app_context():
        engine: Engine = db.engine
    if not isinstance(engine.pool, QueuePool):
        return  # one connection for the process (an in-memory database): no pool to watch
    gauge = metrics().pool
    gauge.labels("size").set(engine.pool.size())
    checked_out = gauge.labels("checked_out")

    def count(*_: Any) -> None:
        pool = engine.pool  # the pool of the moment: dispose() replaces it
        if isinstance(pool, QueuePool):
            checked_out.set(pool.checkedout())

    event.listen(engine, "checkout", count)
    event.listen(engine, "checkin", count)
{%- endif %}


class _MetricsServer(ThreadingMixIn, WSGIServer):
    # Every worker process binds the same port (SO_REUSEPORT); the kernel hands each scrape
    # to one of them, and each answers with the sum over all of them.
    allow_reuse_address = True
    allow_reuse_port = True
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # a scrape every few seconds is not worth a log line


_listener: WSGIServer | None = None


def start_metrics_listener(settings: Settings) -> WSGIServer | None:
    """Serve ``/metrics`` on METRICS_PORT (0: off), in a thread of this process."""
    global _listener
    if settings.metrics_port == 0 or _listener is not None:
        return _listener
    from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app, multiprocess

    registry = REGISTRY
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        # Workers that died without saying so (killed, crashed) leave their gauges behind.
        atexit.register(multiprocess.mark_process_dead, os.getpid(), directory)
    else:
        logger.warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: port %s serves this process's metrics only, "
            "right with one worker process, not with several",
            settings.metrics_port,
        )
    scrape = make_wsgi_app(registry)

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if directory:
            forget_dead_processes(directory)
        return scrape(environ, start_response)  # type: ignore[no-any-return]

    try:
        _listener = make_server(
            "0.0.0.0",  # noqa: S104 - a port of its own, which the deployment keeps private
            settings.metrics_port,
            serve,
            server_class=_MetricsServer,
            handler_class=_QuietHandler,
        )
    except OSError as error:
        logger.error("metrics listener on port %s: %s", settings.metrics_port, error)
        return None
    threading.Thread(target=_listener.serve_forever, name="metrics", daemon=True).start()
    return _listener


def forget_dead_processes(directory: str) -> None:
    """Drop the live gauges of worker processes that no longer exist."""
    from prometheus_client import multiprocess

    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        pid = int(path.rsplit("_", 1)[1].removesuffix(".db"))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, someone else's


# --- traces -----------------------------------------------------------------------------


def span_exporter(settings: Settings) -> SpanExporter | None:
    """OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set; nothing otherwise."""
    if settings.otel_traces_exporter == "console":
        return ConsoleSpanExporter()
    if settings.otel_traces_exporter == "otlp" and settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        return OTLPSpanExporter(endpoint=endpoint)
    return None


def trace(app: Flask, processor: SpanProcessor, service_name: str) -> TracerProvider:
    """Spans for each request{% if cookiecutter.database != "none" %} and each SQL statement{% endif %}, handed to ``processor``. The provider
    belongs to this app (no global one), so that tests can give theirs an in-memory
    exporter."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(processor)
    FlaskInstrumentor().instrument_app(  # type: ignore[no-untyped-call]
        app, tracer_provider=provider, request_hook=_with_request_id
    )
{%- if cookiecutter.database != "none" %}
    with app.app_context():
        # One instrumentor per process: the app traced last has its engine traced (a
        # service has one app; the tests make many).
        statements = SQLAlchemyInstrumentor()
        if statements.is_instrumented_by_opentelemetry:
            statements.uninstrument()
        # It declares SQLAlchemy below 2.1 and would do nothing on 2.1, whose engine events
        # it listens to are the same.
        statements.instrument(engine=db.engine, tracer_provider=provider, skip_dep_check=True)
{%- endif %}
    app.extensions["tracer_provider"] = provider
    return provider


def _with_request_id(span: Span, environ: dict[str, Any]) -> None:
    if span.is_recording():
        span.set_attribute("request_id", request_id.get())


# --- errors -----------------------------------------------------------------------------


def report_errors_to_sentry(settings: Settings) -> None:
    """Unhandled errors (logged by errors.py) become Sentry events: the logging
    integration sends ERROR records, the Flask one adds the request. Without personal data:
    the SDK's default (``send_default_pii`` off, which its newer versions warn about when
    passed) keeps addresses, cookies, credentials and bodies out of the events."""
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment,
        release="{{ cookiecutter.project_slug }}@{{ cookiecutter.version }}",
        integrations=[FlaskIntegration()],
        # The list of installed packages costs seconds on the first event, in the request;
        # the release names the build.
        disabled_integrations=[ModulesIntegration()],
        before_send=_tag_request_id,
    )


def _tag_request_id(event: Any, hint: Any) -> Any:
    event.setdefault("tags", {})["request_id"] = request_id.get()
    return event


# --- the extension ----------------------------------------------------------------------


def init_app(app: Flask, settings: Settings) -> None:
    """Call last in the factory: the request id wraps everything else, tracing included."""
    exporter = span_exporter(settings)
    if exporter is not None:
        trace(app, BatchSpanProcessor(exporter), settings.otel_service_name)
    if settings.sentry_dsn:
        report_errors_to_sentry(settings)
{%- if cookiecutter.database != "none" %}
    observe_pool(app)
{%- endif %}
    observe_requests(app)
