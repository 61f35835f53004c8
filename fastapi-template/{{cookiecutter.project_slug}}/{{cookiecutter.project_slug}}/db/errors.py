"""A database that is down or does not answer in time: 503 with `Retry-After`, never 500.

docs/api.md, "When the project has a database": every route answers 503 within DATABASE_TIMEOUT,
logs one line (no SQL, no parameters), and the service recovers by itself: the pool
replaces broken connections when the database is back.
"""

import logging
import math

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

logger = logging.getLogger(__name__)

# Refused or dropped connections, lock waits that ran out (OperationalError), a pool with
# no free connection in time (PoolTimeoutError), a statement the driver gave up on
# (TimeoutError), sockets that failed under the driver (OSError).
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    TimeoutError,
    OSError,
)


async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
    reason = str(getattr(error, "orig", None) or error).splitlines()[0][:200] if str(error) else ""
    logger.error(
        "database unavailable: %s %s: %s %s",
        request.method,
        request.url.path,
        type(error).__name__,
        reason,
    )
    retry_after = math.ceil(request.app.state.settings.database_timeout)
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content={"detail": "Service Unavailable"},
        headers={"Retry-After": str(retry_after)},
    )


def add_database_error_handlers(app: FastAPI) -> None:
    for error_class in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error_class, database_unavailable)
