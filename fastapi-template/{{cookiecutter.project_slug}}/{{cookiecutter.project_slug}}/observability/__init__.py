"""What the service tells about itself: metrics, request ids, traces and errors.

`observe(app, settings)` wires all of it into an app built by `create_app`.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.observability.metrics import end_of_process, start_listener
from {{ cookiecutter.project_slug }}.observability.middleware import ObservabilityMiddleware
from {{ cookiecutter.project_slug }}.observability.sentry import init_sentry
from {{ cookiecutter.project_slug }}.observability.tracing import instrument_app, tracer_provider


def observe(app: FastAPI, settings: Settings) -> None:
    """Add the request id and metrics layer (outermost: call this after every other
    `add_middleware`), the traces and Sentry as configured, and the metrics listener
    for the lifespan of each worker process."""
    if settings.sentry_dsn:
        init_sentry(settings, app.version)
    provider = tracer_provider(settings, app.version)
    app.state.tracer_provider = provider
    if provider is not None:
        instrument_app(app, provider)
    metrics = settings.metrics_port != 0
    if metrics and settings.prometheus_multiproc_dir:
        # Emptying it is the start command's job, before any worker runs; making it is safe
        # from every worker at once.
        os.makedirs(settings.prometheus_multiproc_dir, exist_ok=True)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, tracing=provider is not None)

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        # Per worker process: the server runs the lifespan in each one.
        listener = start_listener(settings.metrics_port) if metrics else None
        try:
            async with inner(app) as state:
                yield state
        finally:
            if listener is not None:
                listener.stop()
            end_of_process()
            if provider is not None:
                provider.shutdown()  # sends the spans still waiting in the batch

    app.router.lifespan_context = lifespan
