"""GET /openapi.json: an OpenAPI 3.1 description of the service, written out by hand
from its routes and generated from its pydantic models (no extension, no decorators)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, Response, jsonify
{%- if cookiecutter.database != "none" %}
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
{%- endif %}
{%- if cookiecutter.database != "none" %}
{% if cookiecutter.use_auth %}
from .auth import Token, UserCreate, UserOut
{%- endif %}
from .schemas import MAX_INT, ItemCreate, ItemOut, ItemPage, ItemUpdate

MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (ItemCreate, "validation"),
    (ItemUpdate, "validation"),
    (ItemOut, "serialization"),
    (ItemPage, "serialization"),
{%- if cookiecutter.use_auth %}
    (UserCreate, "validation"),
    (UserOut, "serialization"),
    (Token, "serialization"),
{%- endif %}
]
{%- endif %}

bp = Blueprint("openapi", __name__)


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


ERROR = _json({"type": "object", "properties": {"detail": {}}, "required": ["detail"]})
{%- if cookiecutter.database != "none" %}
INVALID = {"description": "Invalid input", **ERROR}
NOT_FOUND = {"description": "Not found", **ERROR}
ITEM_ID = {
    "name": "item_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
}
{%- endif %}
{%- if cookiecutter.use_auth %}
BEARER: list[dict[str, list[str]]] = [{"OAuth2PasswordBearer": []}]
UNAUTHORIZED = {"description": "Missing, invalid or expired token", **ERROR}
{%- endif %}


@cache
def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "summary": "Health check",
                "responses": {
                    "200": {"description": "Up", **_json({"type": "object"})},
{%- if cookiecutter.database != "none" %}
                    "503": {"description": "The database is unreachable", **_json({"type": "object"})},
{%- endif %}
                },
            }
        },
{%- if cookiecutter.use_auth %}
        "/api/v1/auth/register": {
            "post": {
                "summary": "Register",
                "requestBody": {"required": True, **_json(_ref("UserCreate"))},
                "responses": {
                    "201": {"description": "Registered", **_json(_ref("UserOut"))},
                    "409": {"description": "Email already registered", **ERROR},
                    "422": INVALID,
                },
            }
        },
        "/api/v1/auth/token": {
            "post": {
                "summary": "Log in (OAuth2 password flow)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                                "required": ["username", "password"],
                            }
                        }
                    },
                },
                "responses": {
                    "200": {"description": "A bearer token", **_json(_ref("Token"))},
                    "401": {"description": "Incorrect email or password", **ERROR},
                    "422": INVALID,
                },
            }
        },
        "/api/v1/users/me": {
            "get": {
                "summary": "The signed-in user",
                "security": BEARER,
                "responses": {"200": {"description": "The user", **_json(_ref("UserOut"))}, "401": UNAUTHORIZED},
            }
        },
{%- endif %}
{%- if cookiecutter.database != "none" %}
        "/api/v1/items": {
            "get": {
                "summary": "List items, newest first",
{%- if cookiecutter.use_auth %}
                "security": BEARER,
{%- endif %}
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_INT}},
                ],
                "responses": {"200": {"description": "A page", **_json(_ref("ItemPage"))}, "422": INVALID},
            },
            "post": {
                "summary": "Create an item",
{%- if cookiecutter.use_auth %}
                "security": BEARER,
{%- endif %}
                "requestBody": {"required": True, **_json(_ref("ItemCreate"))},
                "responses": {"201": {"description": "Created", **_json(_ref("ItemOut"))}, "422": INVALID},
            },
        },
        "/api/v1/items/{item_id}": {
            "parameters": [ITEM_ID],
            "get": {
                "summary": "Read an item",
{%- if cookiecutter.use_auth %}
                "security": BEARER,
{%- endif %}
                "responses": {"200": {"description": "The item", **_json(_ref("ItemOut"))}, "404": NOT_FOUND},
            },
            "patch": {
                "summary": "Change an item",
{%- if cookiecutter.use_auth %}
                "security": BEARER,
{%- endif %}
                "requestBody": {"required": True, **_json(_ref("ItemUpdate"))},
                "responses": {
                    "200": {"description": "Changed", **_json(_ref("ItemOut"))},
                    "404": NOT_FOUND,
                    "422": INVALID,
                },
            },
            "delete": {
                "summary": "Delete an item",
{%- if cookiecutter.use_auth %}
                "security": BEARER,
{%- endif %}
                "responses": {"204": {"description": "Deleted"}, "404": NOT_FOUND},
            },
        },
{%- endif %}
    }
{%- if cookiecutter.use_auth %}
    for operations in paths.values():
        for name, operation in operations.items():
            if name != "parameters" and "security" in operation:
                operation["responses"]["401"] = UNAUTHORIZED
{%- endif %}
    components: dict[str, Any] = {}
{%- if cookiecutter.database != "none" %}
    _, schemas = models_json_schema(MODELS, ref_template="#/components/schemas/{model}")
    components["schemas"] = schemas.get("$defs", {})
{%- endif %}
{%- if cookiecutter.use_auth %}
    components["securitySchemes"] = {
        "OAuth2PasswordBearer": {
            "type": "oauth2",
            "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
        }
    }
{%- endif %}
    return {
        "openapi": "3.1.0",
        "info": {"title": {{ cookiecutter.project_name | tojson }}, "version": {{ cookiecutter.version | tojson }}},
        "paths": paths,
        "components": components,
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
