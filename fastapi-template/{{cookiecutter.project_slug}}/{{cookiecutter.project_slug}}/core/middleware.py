"""The outer layers: one log line per request, and the answer to unhandled errors."""

import logging
import time

from starlette.responses import JSONResponse
from starlette.status import HTTP_500_INTERNAL_SERVER_ERROR
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Method, path, status and duration: never headers or bodies.
logger = logging.getLogger("{{ cookiecutter.project_slug }}.request")
error_logger = logging.getLogger("{{ cookiecutter.project_slug }}.errors")


class RequestLogMiddleware:
    """Plain ASGI middleware: cheaper than BaseHTTPMiddleware and sees failed requests too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            duration_ms = (time.perf_counter() - start) * 1000
            logger.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(duration_ms, 1),
                },
            )


class ServerErrorMiddleware:
    """Answers 500 for any exception that reaches it, and logs its traceback once.

    Starlette's own last-resort middleware answers too but then re-raises, so the server
    logs the same traceback a second time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # The traceback goes to the log only; the client learns nothing about the internals.
            error_logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not response_started:
                response = JSONResponse(
                    {"detail": "Internal Server Error"}, status_code=HTTP_500_INTERNAL_SERVER_ERROR
                )
                await response(scope, receive, send)
