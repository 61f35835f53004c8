"""The application factory, and the module-level `app` that servers import."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

{% if cookiecutter.database != 'none' -%}
from {{ cookiecutter.project_slug }}.api.router import api_router
{% endif -%}
from {{ cookiecutter.project_slug }}.api.routes import health
from {{ cookiecutter.project_slug }}.core.config import (
    ConfigError,
    Settings,
    get_settings,
    stop_serving,
)
from {{ cookiecutter.project_slug }}.core.errors import add_error_handlers
from {{ cookiecutter.project_slug }}.core.logging import configure_logging
from {{ cookiecutter.project_slug }}.core.middleware import ServiceMiddleware, TrustedProxies
{%- if cookiecutter.database != 'none' %}
from {{ cookiecutter.project_slug }}.db.errors import add_database_error_handlers
{%- if cookiecutter.use_observability %}
from {{ cookiecutter.project_slug }}.db.observability import observe_engine
{%- endif %}
from {{ cookiecutter.project_slug }}.db.session import create_service_engine, create_sessionmaker
{%- endif %}
{%- if cookiecutter.use_observability %}
from {{ cookiecutter.project_slug }}.observability import observe
{%- endif %}

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The server configures its loggers after importing the app; its access log would
    # repeat the request middleware's line, so it is switched off here, at start-up.
    logging.getLogger("uvicorn.access").disabled = True
    logger.info("starting in %s mode", app.state.settings.environment)
    yield
{%- if cookiecutter.database != 'none' %}
    # Close pooled connections cleanly instead of leaving the database to time them out.
    await app.state.engine.dispose()
{%- endif %}


def _new_app(*, show_docs: bool) -> FastAPI:
    title = "{{ cookiecutter.project_name }}"
    version = "{{ cookiecutter.version }}"
    # "/health/" is not "/health": a 404, as for any unknown path, rather than a redirect.
    if show_docs:
        # Swagger UI and ReDoc assets come from the fastapi-offline package: no CDN at run time.
        return FastAPIOffline(
            title=title, version=version, lifespan=lifespan, redirect_slashes=False
        )
    return FastAPI(
        title=title,
        version=version,
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
{%- if cookiecutter.use_auth %}
    if settings.random_secret_key:
        # Logged here rather than where the key is made: only now do the handlers exist that
        # write it in the configured format (a JSON line with LOG_FORMAT=json).
        logger.warning(
            "SECRET_KEY is not set: using a random key for this process "
            "(access tokens will not survive a restart)"
        )
{%- endif %}

    app = _new_app(show_docs=settings.show_docs)
    app.state.settings = settings
{%- if cookiecutter.database != 'none' %}
    app.state.engine = create_service_engine(settings)
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    app.state.read_sessionmaker = create_sessionmaker(app.state.engine, reads_only=True)
    add_database_error_handlers(app)
{%- endif %}

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    # Added last, so it wraps the others and answers for any error they let through.
    app.add_middleware(
        ServiceMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout,
    )
    if settings.forwarded_allow_ips:
        app.add_middleware(TrustedProxies, trusted_hosts=settings.forwarded_allow_ips)
{%- if cookiecutter.use_observability %}
    # Last: the request id and the metrics wrap every other layer.
    observe(app, settings)
{%- if cookiecutter.database != 'none' %}
    observe_engine(app)
{%- endif %}
{%- endif %}
    add_error_handlers(app)

    # On the app's own route list: an included router adds a layer to every match it makes,
    # and /health is what load balancers call most.
    app.router.routes.extend(health.router.routes)
{%- if cookiecutter.database != 'none' %}
    app.include_router(api_router)
{%- endif %}
    return app


try:
    app = create_app(get_settings())
except ConfigError as error:
    stop_serving(error)
