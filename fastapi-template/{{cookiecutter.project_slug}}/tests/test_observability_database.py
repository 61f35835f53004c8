"""The database's part: the pool gauge and a span per statement."""

from collections.abc import Iterator

import pytest
from httpx import ASGITransport, AsyncClient
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.main import create_app
from {{ cookiecutter.project_slug }}.observability import tracing


def pool(state: str) -> float:
    return REGISTRY.get_sample_value("db_pool_connections", {"state": state}) or 0.0


async def test_the_pool_gauge_follows_connections_in_and_out(settings: Settings) -> None:
    app = create_app(settings)
    assert pool("size") == settings.database_pool_size
    before = pool("checked_out")
    async with app.state.engine.connect():
        assert pool("checked_out") == before + 1
        async with app.state.engine.connect():
            assert pool("checked_out") == before + 2
    assert pool("checked_out") == before
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/health")).status_code == 200
    assert pool("checked_out") == before
    await app.state.engine.dispose()


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    monkeypatch.setattr(tracing, "span_exporter", lambda _settings: exporter)
    yield exporter
    # The instrumentor is process-wide: later tests' engines must not be traced.
    SQLAlchemyInstrumentor().uninstrument()


async def test_a_statement_makes_a_span_inside_the_request_span(
    settings: Settings, spans: InMemorySpanExporter
) -> None:
    app = create_app(settings)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/health", headers={"X-Request-ID": "db-1"})).status_code == 200
    app.state.tracer_provider.force_flush()
    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind == SpanKind.SERVER]
    statements = [s for s in finished if s.kind == SpanKind.CLIENT]
    assert server.name == "GET /health"
    assert server.attributes is not None
    assert server.attributes["request_id"] == "db-1"
    assert statements, [s.name for s in finished]
    assert all(s.context is not None for s in statements)
    assert server.context is not None
    assert {s.context.trace_id for s in statements if s.context} == {server.context.trace_id}
    texts = [str((s.attributes or {}).get("db.statement", s.name)) for s in statements]
    assert any("SELECT 1" in text for text in texts), texts
    app.state.tracer_provider.shutdown()
    await app.state.engine.dispose()
