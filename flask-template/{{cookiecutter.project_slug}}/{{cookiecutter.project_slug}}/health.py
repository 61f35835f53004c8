"""GET /health: is the service{% if cookiecutter.database != "none" %} and its database{% endif %} up?"""

from __future__ import annotations
{%- if cookiecutter.database != "none" %}

import contextlib
import logging
{%- endif %}

from flask import Blueprint, Response, jsonify
{%- if cookiecutter.database != "none" %}
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

logger = logging.getLogger(__name__)
{%- endif %}

bp = Blueprint("health", __name__)


@bp.get("/health")
{%- if cookiecutter.database != "none" %}
def health() -> Response | tuple[Response, int]:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        logger.warning("Health check: the database is unreachable", exc_info=True)
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
{%- else %}
def health() -> Response:
    return jsonify(status="ok")
{%- endif %}
