"""Error answers the framework's defaults do not give as docs/api.md ("Errors") asks."""

import json
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path
from starlette.status import HTTP_405_METHOD_NOT_ALLOWED, HTTP_422_UNPROCESSABLE_CONTENT


class EscapedJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped.

    A 422 repeats the input it refuses, and text with an unpaired surrogate (which JSON
    can carry as an escape) cannot be written out as UTF-8: escaped, it is the same value.
    """

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


async def invalid_input(request: Request, error: Exception) -> Response:
    errors = error.errors() if isinstance(error, RequestValidationError) else []
    return EscapedJSONResponse(
        {"detail": jsonable_encoder(errors)}, status_code=HTTP_422_UNPROCESSABLE_CONTENT
    )


MethodsByPath = list[tuple[re.Pattern[str], set[str]]]


def _methods_by_path(app: FastAPI) -> MethodsByPath:
    """Each documented path, as the pattern the router matches, with all of its methods."""
    table: MethodsByPath | None = getattr(app.state, "methods_by_path", None)
    if table is None:
        table = [
            (compile_path(path)[0], {method.upper() for method in operations})
            for path, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.methods_by_path = table
    return table


async def method_not_allowed(request: Request, error: Exception) -> Response:
    """405 whose Allow header names every method of the path, not only one route's."""
    headers = dict(getattr(error, "headers", None) or {})
    path = request.scope["path"]
    allowed = set().union(
        *(methods for pattern, methods in _methods_by_path(request.app) if pattern.match(path))
    )
    if allowed:
        headers["Allow"] = ", ".join(sorted(allowed))
    detail = error.detail if isinstance(error, HTTPException) else "Method Not Allowed"
    return JSONResponse(
        {"detail": detail}, status_code=HTTP_405_METHOD_NOT_ALLOWED, headers=headers
    )


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_input)
    app.add_exception_handler(HTTP_405_METHOD_NOT_ALLOWED, method_not_allowed)
