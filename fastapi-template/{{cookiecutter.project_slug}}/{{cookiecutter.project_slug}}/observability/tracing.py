"""OpenTelemetry traces: a server span per request (named after its route), exported
over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and nothing made when it is not.

The exporter also reads the other standard variables from the environment
(OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT, ...), and the batch processor
OTEL_BSP_SCHEDULE_DELAY and its siblings.
"""

from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from {{ cookiecutter.project_slug }}.core.config import Settings


def span_exporter(settings: Settings) -> SpanExporter | None:
    if settings.otel_traces_exporter == "console":
        return ConsoleSpanExporter()
    if settings.otel_traces_exporter == "otlp" and settings.otel_exporter_otlp_endpoint:
        # The base endpoint, as the OTLP specification defines it: the signal's path is added.
        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        return OTLPSpanExporter(endpoint=endpoint)
    return None


def tracer_provider(settings: Settings, version: str) -> TracerProvider | None:
    """A provider of this app's own (not the global one), or None when nothing would
    receive the spans: then no span is made at all, which costs nothing per request."""
    exporter = span_exporter(settings)
    if exporter is None:
        return None
    resource = Resource.create({SERVICE_NAME: settings.otel_service_name, SERVICE_VERSION: version})
    provider = TracerProvider(resource=resource)
    # Spans leave in batches from a background thread, never on the request's time.
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    # The ASGI receive and send events would each make a span per request: noise.
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, exclude_spans=["receive", "send"]
    )
