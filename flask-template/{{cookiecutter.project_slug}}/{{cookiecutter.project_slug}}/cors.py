"""Cross-origin access for the origins in CORS_ORIGINS (none by default)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

ALLOWED_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
PREFLIGHT_MAX_AGE = "600"


def init_app(app: Flask, origins: list[str]) -> None:
    if not origins:
        return
    allowed = set(origins)

    def is_allowed(origin: str) -> bool:
        return "*" in allowed or origin in allowed

    @app.before_request
    def answer_preflight() -> Response | None:
        origin = request.headers.get("Origin")
        if request.method != "OPTIONS" or not origin or "Access-Control-Request-Method" not in request.headers:
            return None
        if not is_allowed(origin):
            # Starlette's wording, as JSON like every other error of this service.
            refused = jsonify(detail="Disallowed CORS origin")
            refused.status_code = 400
            return refused
        response = Response("OK", 200, mimetype="text/plain")
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        requested_headers = request.headers.get("Access-Control-Request-Headers")
        if requested_headers:
            response.headers["Access-Control-Allow-Headers"] = requested_headers
        response.vary.add("Origin")
        return response

    @app.after_request
    def allow_origin(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin:
            response.vary.add("Origin")
            if is_allowed(origin) and "Access-Control-Allow-Origin" not in response.headers:
                response.headers["Access-Control-Allow-Origin"] = origin
        return response
