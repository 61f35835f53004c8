"""Request bodies read whole before a view runs: within MAX_BODY_BYTES, counted as they arrive
when chunked (Flask's own limit only cuts such a body short), and within BODY_TIMEOUT (Granian
hands a request to a worker thread while a slow client is still sending its body)."""

from __future__ import annotations

import io
import threading
from typing import Any

from flask import Flask, request

from .config import Settings
from .errors import APIError

CHUNK_BYTES = 65_536
# The rest of the body is never read: the connection cannot carry another request.
CLOSE = {"Connection": "close"}


def init_app(app: Flask, settings: Settings) -> None:
    app.before_request(lambda: read_body(settings.max_body_bytes, settings.body_timeout))


def read_body(limit: int, timeout: float) -> None:
    environ = request.environ
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    length = request.content_length
    if not chunked and (not length or length > limit):
        # No body, or one that Flask refuses by its Content-Length alone (413).
        return
    body = _read(environ["wsgi.input"], limit, timeout)
    if body is None:
        raise APIError(408, "Request Timeout", CLOSE)
    if len(body) > limit:
        raise APIError(413, "Request body too large", CLOSE)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)


def _read(stream: Any, limit: int, timeout: float) -> bytes | None:
    """The body, up to one byte past ``limit``; None when it is still arriving at ``timeout``.

    A read cannot be interrupted, so it runs on a thread of its own: once the request is
    answered the server closes the connection, which ends that read.
    """
    chunks: list[bytes] = []
    done = threading.Event()

    def read() -> None:
        size = 0
        try:
            while size <= limit and (chunk := stream.read(CHUNK_BYTES)):
                chunks.append(chunk)
                size += len(chunk)
        except OSError:
            pass  # the client went away: the request is answered (and unheard) anyway
        done.set()

    threading.Thread(target=read, name="request-body", daemon=True).start()
    return b"".join(chunks) if done.wait(timeout) else None
