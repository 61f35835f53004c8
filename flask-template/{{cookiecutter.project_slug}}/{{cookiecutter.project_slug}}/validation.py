"""Request input checked by pydantic, failing with the same 422 items FastAPI gives."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from .errors import APIError, RequestValidationError

Model = TypeVar("Model", bound=BaseModel)
PathModel = TypeVar("PathModel", bound=BaseModel)


def _errors(error: ValidationError, location: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for item in error.errors(include_url=False):
        items.append({**item, "loc": [location, *item["loc"]]})
    return items


def _is_json(mimetype: str) -> bool:
    main, _, sub = mimetype.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def read_json() -> Any:
    """The decoded body, None when there is none, the raw bytes when it is not JSON.

    Call it before anything else in a view: FastAPI reports malformed JSON before
    it looks at credentials or parameters.
    """
    raw = request.get_data(cache=True)
    if not raw:
        return None
    if not _is_json(request.mimetype):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", error.pos],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": error.msg},
                }
            ]
        ) from error
    except UnicodeDecodeError as error:
        raise APIError(400, "There was an error parsing the body") from error


def body(model: type[Model], data: Any) -> Model:
    if data is None:
        raise RequestValidationError([{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
    try:
        # from_attributes gives the same error type as FastAPI for a body that is not an object.
        return model.model_validate(data, from_attributes=True)
    except ValidationError as error:
        raise RequestValidationError(_errors(error, "body")) from error


def query(model: type[Model]) -> Model:
    # A repeated parameter counts with its last value, as in FastAPI.
    values = {name: request.args.getlist(name)[-1] for name in request.args}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise RequestValidationError(_errors(error, "query")) from error


def form(model: type[Model]) -> Model:
    # FastAPI reads an empty form field as a missing one, and shows no input for it.
    values = {name: value for name, value in request.form.items() if value != ""}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        items = _errors(error, "body")
        for item in items:
            if item["type"] == "missing":
                item["input"] = None
        raise RequestValidationError(items) from error


def path(model: type[Model], **values: str) -> Model:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise RequestValidationError(_errors(error, "path")) from error


def path_and_body(
    path_model: type[PathModel], path_values: dict[str, str], body_model: type[Model], data: Any
) -> tuple[PathModel, Model]:
    """Both checked, so that one 422 lists the errors of both, as FastAPI's does."""
    errors: list[dict[str, Any]] = []
    parsed_path: PathModel | None = None
    parsed_body: Model | None = None
    try:
        parsed_path = path(path_model, **path_values)
    except RequestValidationError as error:
        errors += error.errors
    try:
        parsed_body = body(body_model, data)
    except RequestValidationError as error:
        errors += error.errors
    if parsed_path is None or parsed_body is None:
        raise RequestValidationError(errors)
    return parsed_path, parsed_body
