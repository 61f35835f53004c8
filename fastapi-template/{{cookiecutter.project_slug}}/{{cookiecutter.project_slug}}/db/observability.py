"""The database's part in the metrics and traces: the pool gauge and a span per statement."""

from typing import Any

from fastapi import FastAPI
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import Gauge
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# With several worker processes, "livesum" adds up the processes that are running.
POOL_CONNECTIONS = Gauge(
    "db_pool_connections",
    "Database connections: checked_out (in use by a request), size (the pool's size).",
    ["state"],
    multiprocess_mode="livesum",
)


def watch_pool(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    size = getattr(pool, "size", None)
    if callable(size):
        POOL_CONNECTIONS.labels("size").set(size())
    checked_out = POOL_CONNECTIONS.labels("checked_out")

    # Counted as connections leave and return, not read at scrape time: the scrape is
    # answered by one worker, and it must see every worker's pool.
    @event.listens_for(engine.sync_engine, "checkout")
    def _out(*_: Any) -> None:
        checked_out.inc()

    @event.listens_for(engine.sync_engine, "checkin")
    def _in(*_: Any) -> None:
        checked_out.dec()


def trace_engine(engine: AsyncEngine, provider: TracerProvider) -> None:
    """A span for each statement, inside the request's span."""
    # The instrumentation declares SQLAlchemy "< 2.1" while it only uses the event API that
    # 2.1 keeps; the project's tests check that the spans are made.
    instrumentor = SQLAlchemyInstrumentor()  # one per process
    if instrumentor.is_instrumented_by_opentelemetry:
        # An earlier app of this process (tests build many): it would refuse a second one.
        instrumentor.uninstrument()
    instrumentor.instrument(
        engine=engine.sync_engine, tracer_provider=provider, skip_dep_check=True
    )


def observe_engine(app: FastAPI) -> None:
    """After `observe(app, settings)`: the pool gauge when metrics are on, the statement
    spans when traces are."""
    engine: AsyncEngine = app.state.engine
    if app.state.settings.metrics_port != 0:
        watch_pool(engine)
    provider: TracerProvider | None = app.state.tracer_provider
    if provider is not None:
        trace_engine(engine, provider)
