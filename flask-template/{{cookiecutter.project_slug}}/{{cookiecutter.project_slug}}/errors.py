"""Every error answers JSON, in the shapes FastAPI uses."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from pydantic_core import to_jsonable_python
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class APIError(Exception):
    """An expected failure with its status and message, e.g. ``APIError(404, "Item not found")``."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class RequestValidationError(Exception):
    """Invalid input: pydantic's error items, ``loc`` starting with body, query or path."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid request")
        self.errors = errors


def init_app(app: Flask) -> None:
    app.register_error_handler(APIError, api_error)
    app.register_error_handler(RequestValidationError, validation_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unhandled_error)


def api_error(error: APIError) -> tuple[Response, int, dict[str, str]]:
    return jsonify(detail=error.detail), error.status, error.headers


def validation_error(error: RequestValidationError) -> tuple[Response, int]:
    # Inputs and contexts may hold bytes or exceptions; make them JSON the way FastAPI does.
    return jsonify(detail=to_jsonable_python(error.errors, fallback=str)), 422


def http_error(error: HTTPException) -> Response | HTTPException:
    if error.code is None or error.code < 400:
        return error
    response = jsonify(detail=error.name)
    response.status_code = error.code
    for name, value in error.get_headers():
        if name.lower() not in {"content-type", "content-length"}:
            response.headers[name] = value  # e.g. Allow on 405
    return response


def unhandled_error(error: Exception) -> tuple[Response, int]:
    logger.exception("Unhandled error", exc_info=error)
    return jsonify(detail="Internal Server Error"), 500
