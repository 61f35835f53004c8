"""Every error answers JSON in the shapes of docs/api.md ("Errors"); this module is where the
libraries' own errors are turned into them."""

from __future__ import annotations

import json
import logging
from typing import Any, get_type_hints

from flask import Flask, Request, Response, current_app, jsonify, request
from flask_openapi3.types import ResponseDict
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)

# Where each of flask-openapi3's typed view arguments comes from, as docs/api.md's `loc` says it.
LOCATIONS = {"path": "path", "query": "query", "form": "body", "body": "body"}
# The wording of docs/api.md where it differs from the HTTP reason phrase.
DETAILS = {413: "Request body too large"}
UNPARSABLE = "There was an error parsing the body"


class ErrorBody(BaseModel):
    """The body of every error answer but a 422."""

    detail: str


class ValidationErrorItem(BaseModel):
    type: str
    loc: list[str | int]
    msg: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ValidationErrorBody(BaseModel):
    """A 422's body: what failed, and where (``loc`` starts with body, query or path)."""

    detail: list[ValidationErrorItem]


# What every blueprint documents besides its own answers (``abp_responses=``): without it
# flask-openapi3 describes a 422 as a bare list, which is not what validation_error_response sends.
ERROR_RESPONSES: ResponseDict = {422: ValidationErrorBody}


class APIError(Exception):
    """An expected failure with its status and message, e.g. ``APIError(404, "Item not found")``."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class JSONRequest(Request):
    """Reads a body the way docs/api.md tells its failures apart: no body is
    "missing", a body that is not JSON is passed on as it came (and refused by
    the model), malformed JSON is a 422, an undecodable body a 400."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        data = self.get_data(cache=True)
        if not data:
            return None
        if not (force or self.is_json):
            return data
        try:
            return super().get_json(force=force, silent=False, cache=cache)
        except RecursionError:
            raise APIError(400, UNPARSABLE) from None

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, json.JSONDecodeError):
            error = {
                "type": "json_invalid",
                "loc": ["body", e.pos],
                "msg": "JSON decode error",
                "ctx": {"error": e.msg},
            }
            raise APIError(422, [error]) from e
        raise APIError(400, UNPARSABLE) from e


def decode_json_body() -> None:
    """A malformed body is reported before credentials are looked at, as docs/api.md's
    order of checks expects; the body is decoded once and kept for the view."""
    if request.content_length and request.is_json and request.routing_exception is None:
        request.get_json()


def init_app(app: Flask) -> None:
    app.request_class = JSONRequest
    app.before_request(decode_json_body)
    app.register_error_handler(APIError, api_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unhandled_error)


def api_error(error: APIError) -> tuple[Response, int, dict[str, str]]:
    return jsonify(detail=error.detail), error.status, error.headers


def http_error(error: HTTPException) -> Response | HTTPException:
    if error.code is None or error.code < 400:
        return error
    response = jsonify(detail=DETAILS.get(error.code, error.name))
    response.status_code = error.code
    for name, value in error.get_headers():
        if name.lower() not in {"content-type", "content-length"}:
            response.headers[name] = value  # e.g. Allow on 405
    return response


def unhandled_error(error: Exception) -> tuple[Response, int]:
    logger.exception("Unhandled error", exc_info=error)
    return jsonify(detail="Internal Server Error"), 500


def validation_error_response(error: ValidationError) -> Response:
    """flask-openapi3's validation error callback: pydantic's items, their ``loc``
    led by where the input came from; models that set ``hide_input_in_errors``
    (they carry secrets) report what is wrong, never what was sent."""
    location, model = _source(error)
    hide_input = model is not None and model.model_config.get("hide_input_in_errors", False)
    items: list[dict[str, Any]] = []
    for item in error.errors(include_url=False):
        if location == "body" and not item["loc"] and item["input"] is None:
            item = {"type": "missing", "loc": (), "msg": "Field required", "input": None}
        entry = {**item, "loc": [location, *item["loc"]]}
        if hide_input:
            entry.pop("input", None)
        items.append(entry)
    try:
        body = json.dumps({"detail": to_jsonable_python(items, fallback=str)})
    except (RecursionError, ValueError):  # an input nested too deep to echo
        body = json.dumps({"detail": [{k: v for k, v in i.items() if k != "input"} for i in items]})
    return Response(body, status=422, mimetype="application/json")


def _source(error: ValidationError) -> tuple[str, type[BaseModel] | None]:
    view = current_app.view_functions.get(request.endpoint or "")
    hints = get_type_hints(view) if view else {}
    for argument, location in LOCATIONS.items():
        model = hints.get(argument)
        if model is not None and model.__name__ == error.title:
            return location, model
    return "body", None
