"""The {{ cookiecutter.project_name }} package."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, redirect, request
from flask.json.provider import DefaultJSONProvider
from flask_cors import CORS
from flask_openapi3 import Info, OpenAPI
from flask_openapi3_swagger.plugins import RegisterPlugin as SwaggerUI
from granian.utils.proxies import wrap_wsgi_with_proxy_headers

from . import (
{%- if cookiecutter.use_auth %}
    auth,
{%- endif %}
    body,
    errors,
{%- if cookiecutter.database != "none" %}
    extensions,
{%- endif %}
    health,
{%- if cookiecutter.database != "none" %}
    items,
{%- endif %}
{%- if cookiecutter.use_worker %}
    jobs,
{%- endif %}
    logs,
{%- if cookiecutter.use_observability %}
    observability,
{%- endif %}
{%- if cookiecutter.use_auth %}
    ratelimit,
    security,
    users,
{%- endif %}
)
from .config import Settings

# Every answer carries these (docs/api.md, "Limits and failures").
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def create_app(config: Mapping[str, Any] | Settings | None = None) -> OpenAPI:
    """Build the app. ``config`` overrides settings (by name) and Flask config keys, for tests."""
    if isinstance(config, Settings):
        settings, flask_config = config, {}
    else:
        overrides = dict(config or {})
        setting_names = {name for name in overrides if name.lower() in Settings.model_fields}
        settings = Settings.load({name: overrides.pop(name) for name in setting_names})
        flask_config = overrides
    logs.configure(settings.log_level, settings.log_format)

    app = OpenAPI(
        __name__,
        info=Info(title="{{ cookiecutter.project_name }}", version="{{ cookiecutter.version }}"),
        validation_error_callback=errors.validation_error_response,
        doc_ui=False,
    )
    app.config.from_mapping(
        SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        # OPTIONS is answered for CORS preflights only; elsewhere it is a 405 like any other.
        PROVIDE_AUTOMATIC_OPTIONS=bool(settings.cors_origins),
    )
    app.config.update(flask_config)
    if isinstance(app.json, DefaultJSONProvider):
        app.json.sort_keys = False  # keep fields in the order the schemas declare them

    logs.init_app(app)
    # First of the before_request hooks: the others may read the body.
    body.init_app(app, settings)
    errors.init_app(app)
    if settings.forwarded_allow_ips:
        # Behind a reverse proxy every request comes from the proxy: the client's address
        # (which the login rate limit counts by) and scheme are those the proxy forwards,
        # believed only from the addresses listed. Granian, the production server, ships
        # the wrapper.
        app.wsgi_app = wrap_wsgi_with_proxy_headers(  # type: ignore[method-assign]
            app.wsgi_app, trusted_hosts=settings.forwarded_allow_ips
        )
    app.after_request(add_security_headers)
    if settings.cors_origins:
        # The app's own before_request runs before the blueprints' (authentication, the login
        # rate limit): a preflight is answered there, and Flask-CORS adds its headers.
        app.before_request(answer_preflight)
        # Registered before Flask-CORS, so it runs after it (Flask runs these in reverse).
        app.after_request(vary_on_origin)
        CORS(app, origins=settings.cors_origins)

    app.register_api(health.bp)
{%- if cookiecutter.database != "none" %}
    extensions.init_app(app, settings)
    app.register_api(items.bp)
{%- endif %}
{%- if cookiecutter.use_auth %}
    security.init_app(app, settings)
    ratelimit.init_app(app, settings)
    app.register_api(auth.bp)
    app.register_api(users.bp)
{%- endif %}
{%- if cookiecutter.use_worker %}
    jobs.celery_init_app(app, settings)
{%- endif %}
    # The document flask-openapi3 builds from the views and their models.
    app.add_url_rule("/openapi.json", "openapi", lambda: app.api_doc)
    if settings.show_docs:
        # Swagger UI from the flask-openapi3-swagger package's own files: no CDN.
        app.register_blueprint(SwaggerUI.register(doc_url="/openapi.json"), url_prefix="/docs")
        app.add_url_rule("/docs", "docs", lambda: redirect("/docs/swagger"))
{%- if cookiecutter.use_observability %}
    observability.init_app(app, settings)
{%- endif %}
    return app


def add_security_headers(response: Response) -> Response:
    response.headers.extend(SECURITY_HEADERS)
    if response.status_code == 204:
        # No content, so no type: Flask's default text/html would describe a body that is not there.
        response.headers.pop("Content-Type", None)
    return response


def answer_preflight() -> Response | None:
    # A browser's CORS preflight carries no credentials (the Fetch standard) and is no
    # login attempt: Flask's automatic OPTIONS answer, for a path that exists.
    if request.method == "OPTIONS" and request.routing_exception is None:
        return current_app.make_default_options_response()
    return None


def vary_on_origin(response: Response) -> Response:
    # The CORS headers depend on the request's Origin, so a cache must not hand one
    # origin's answer to another (Flask-CORS says so only when it lists several origins).
    response.vary.add("Origin")
    return response
