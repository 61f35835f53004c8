"""The one outer layer every request passes through.

It keeps the rules of docs/api.md that hold for every route: the body limit and timeout, the
security headers, a JSON 500 for any unhandled error, and one log line per request. One plain ASGI
class rather than a stack of them, because every layer costs every request.
"""

import asyncio
import logging
import time

from granian.utils.proxies import wrap_asgi_with_proxy_headers
from starlette.exceptions import HTTPException
from starlette.status import (
    HTTP_408_REQUEST_TIMEOUT,
    HTTP_413_CONTENT_TOO_LARGE,
    HTTP_500_INTERNAL_SERVER_ERROR,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }}.core.logging import request_log

error_logger = logging.getLogger("{{ cookiecutter.project_slug }}.errors")

# On every answer: no MIME sniffing, no framing by other sites, no Referer leaving the page.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
BODY_TOO_LARGE = "Request body too large"
BODY_TIMEOUT = "Request Timeout"
_JSON = (b"content-type", b"application/json")


class BodyTooLarge(HTTPException):
    """Raised while the body is read, as soon as it passes the limit; answered as 413."""

    def __init__(self) -> None:
        super().__init__(status_code=HTTP_413_CONTENT_TOO_LARGE, detail=BODY_TOO_LARGE)


class BodyTimeout(HTTPException):
    """Raised when the body has not all arrived within BODY_TIMEOUT; answered as 408, and the
    connection closed (the rest of the body is never read)."""

    def __init__(self) -> None:
        super().__init__(
            status_code=HTTP_408_REQUEST_TIMEOUT,
            detail=BODY_TIMEOUT,
            headers={"Connection": "close"},
        )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout: float = 30.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        limit = self.max_body_bytes
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            # Refused on the header alone: the body is never read.
            await _answer(send_with_headers, HTTP_413_CONTENT_TOO_LARGE, BODY_TOO_LARGE)
            self._log(scope, status, start)
            return

        # The whole body must arrive within BODY_TIMEOUT of the request's start (a client
        # trickling it in holds a connection, and memory, for as long as it likes otherwise);
        # with no length announced (chunked), its bytes are counted as they arrive.
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        received = 0
        body_done = False

        async def guarded_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # only http.disconnect is left to wait for, however long
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout from None
            received += len(message.get("body", b""))
            if declared is None and received > limit:
                raise BodyTooLarge
            body_done = not message.get("more_body", False)
            return message

        try:
            await self.app(scope, guarded_receive, send_with_headers)
        except BodyTooLarge:
            if not started:
                await _answer(send_with_headers, HTTP_413_CONTENT_TOO_LARGE, BODY_TOO_LARGE)
        except BodyTimeout:
            if not started:
                await _answer(send_with_headers, HTTP_408_REQUEST_TIMEOUT, BODY_TIMEOUT, close=True)
        except Exception:
            # The traceback goes to the log only; the client learns nothing about the internals.
            error_logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                # Too late once the status is out: the server then just ends the response.
                await _answer(
                    send_with_headers, HTTP_500_INTERNAL_SERVER_ERROR, "Internal Server Error"
                )
        finally:
            self._log(scope, status, start)

    @staticmethod
    def _log(scope: Scope, status: int, start: float) -> None:
        duration_ms = round((time.perf_counter() - start) * 1000, 1)
        request_log(scope["method"], scope["path"], status, duration_ms)


async def _answer(send: Send, status: int, detail: str, *, close: bool = False) -> None:
    body = b'{"detail":"' + detail.encode() + b'"}'
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class TrustedProxies:
    """Behind a reverse proxy every request comes from the proxy: the client's address
    (which the login rate limit counts by) and scheme become those the proxy forwards in
    X-Forwarded-For and X-Forwarded-Proto, believed only from FORWARDED_ALLOW_IPS. Granian,
    the production server, ships the wrapper that does it."""

    def __init__(self, app: ASGIApp, trusted_hosts: str) -> None:
        self.handle = wrap_asgi_with_proxy_headers(app, trusted_hosts=trusted_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle(scope, receive, send)
