"""The request id: taken from the client's `X-Request-ID` when it is sane, else made.

It lives in a context variable for the length of the request, so that every log record
made while the request runs (the request line, the app's own lines, an error's traceback)
can carry it without being handed it.
"""

import re
from contextvars import ContextVar
from uuid import uuid4

HEADER = b"x-request-id"
# An id that may go into log lines and headers as it is: bounded, no spaces, no quotes, no
# control characters. Anything else is replaced by one of ours, not cleaned up.
_SANE = re.compile(rb"[A-Za-z0-9._:+/=-]{1,128}")
# Outside a request (start-up, background threads) records carry this.
NO_REQUEST = "-"

request_id_var: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def current_request_id() -> str:
    return request_id_var.get()


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's id when it sent a sane one, else a new uuid4 in hex."""
    for name, value in headers:
        if name == HEADER:
            if _SANE.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid4().hex
