"""The request id and the request metrics, in one plain ASGI layer outside all others.

Outside the service's own middleware, so that its request line and its JSON 500 answers
carry the request id, and the metrics see the status the client got.
"""

import time
from typing import Any

from opentelemetry.trace import get_current_span
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }}.observability.metrics import (
    DURATION,
    KNOWN_METHODS,
    OTHER_METHOD,
    REQUESTS,
    UNMATCHED_ROUTE,
)
from {{ cookiecutter.project_slug }}.observability.request_id import request_id_from, request_id_var

# The span attribute and the log records' attribute: one name to search by everywhere.
REQUEST_ID_ATTRIBUTE = "request_id"


def route_of(scope: Scope, by_endpoint: dict[Any, str]) -> str:
    """The template of the route that answered (`/api/v1/items/{item_id}`), never the path."""
    # FastAPI 0.16x resolves an included router's routes per request: the template with
    # the router's prefix is in its request context, the route itself lacks the prefix.
    fastapi_scope = scope.get("fastapi")
    if isinstance(fastapi_scope, dict):
        template = getattr(fastapi_scope.get("effective_route_context"), "path_format", None)
        if isinstance(template, str):
            return template
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str):
        return template
    # FastAPI names the route in the scope for its own routes only; a plain Starlette one
    # (/openapi.json) leaves its endpoint there, found once in the app's routes.
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return UNMATCHED_ROUTE
    if endpoint not in by_endpoint:
        routes = getattr(scope.get("app"), "routes", ())
        found = [r.path_format for r in routes if getattr(r, "endpoint", None) is endpoint]
        by_endpoint[endpoint] = found[0] if found else UNMATCHED_ROUTE
    return by_endpoint[endpoint]


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: bool, tracing: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
        # Label children by their labels: `labels()` takes a lock and builds a key each
        # time; the set of keys is small (methods x routes x statuses).
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[tuple[str, str], Any] = {}
        self._templates: dict[Any, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = request_id_from(scope["headers"])
        outer = request_id_var.set(request_id)
        if self.tracing:
            # The server span is current here: OpenTelemetry's layer wraps every other one.
            get_current_span().set_attribute(REQUEST_ID_ATTRIBUTE, request_id)
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.metrics:
                self._observe(scope, status, time.perf_counter() - start)
            request_id_var.reset(outer)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"]
        if method not in KNOWN_METHODS:
            method = OTHER_METHOD
        route = route_of(scope, self._templates)
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = REQUESTS.labels(method, route, str(status))
            self._counters[(method, route, status)] = counter
        counter.inc()
        histogram = self._histograms.get((method, route))
        if histogram is None:
            histogram = DURATION.labels(method, route)
            self._histograms[(method, route)] = histogram
        histogram.observe(seconds)
