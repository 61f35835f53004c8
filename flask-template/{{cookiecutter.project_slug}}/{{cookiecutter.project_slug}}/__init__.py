"""{{ cookiecutter.project_name }}: {{ cookiecutter.description }}"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from . import {% if cookiecutter.use_auth %}auth, {% endif %}cors, errors, health, {% if cookiecutter.database != "none" %}items, {% endif %}logs, openapi{% if cookiecutter.use_auth %}, security, users{% endif %}
from .config import Settings
{%- if cookiecutter.database != "none" %}
from .extensions import db, engine_options, migrate
{%- endif %}

logger = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the app. ``config`` overrides settings (by name) and Flask config keys, for tests."""
    if isinstance(config, Settings):
        settings, flask_config = config, {}
    else:
        overrides = dict(config or {})
        setting_names = {name for name in overrides if name.lower() in Settings.model_fields}
        settings = Settings.load({name: overrides.pop(name) for name in setting_names})
        flask_config = overrides
    settings.refuse_unsafe_production()
    logs.configure(settings.log_level)

    app = Flask(__name__)
    secret_key = settings.secret_key
    if not secret_key:
{%- if cookiecutter.use_auth %}
        logger.warning("SECRET_KEY is not set: using a random one, so access tokens die with this process.")
{%- else %}
        logger.warning("SECRET_KEY is not set: using a random one for this process.")
{%- endif %}
        secret_key = os.urandom(32).hex()
    app.config.from_mapping(
        SETTINGS=settings,
        SECRET_KEY=secret_key,
{%- if cookiecutter.database != "none" %}
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
{%- endif %}
        # FastAPI answers OPTIONS with 405 unless CORS handles it; so does this service.
        PROVIDE_AUTOMATIC_OPTIONS=False,
    )
    app.config.update(flask_config)
    if isinstance(app.json, DefaultJSONProvider):
        app.json.sort_keys = False  # keep fields in the order the schemas declare them

{%- if cookiecutter.database != "none" %}

    db.init_app(app)
    migrate.init_app(app, db)
{%- endif %}
{%- if cookiecutter.use_auth %}
    security.init_app(app)
{%- endif %}
    logs.init_app(app)
    errors.init_app(app)
    cors.init_app(app, settings.cors_origins)

    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
{%- if cookiecutter.database != "none" %}
    app.register_blueprint(items.bp)
{%- endif %}
{%- if cookiecutter.use_auth %}
    app.register_blueprint(auth.bp)
    app.register_blueprint(users.bp)
{%- endif %}
    return app
