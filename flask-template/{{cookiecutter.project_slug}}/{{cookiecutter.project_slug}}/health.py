"""GET /health/live: is the process up? GET /health: is the service{% if cookiecutter.database != "none" %} and its database{% endif %} up?"""

from __future__ import annotations
{%- if cookiecutter.database != "none" %}

import contextlib
import logging
from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

logger = logging.getLogger(__name__)
bp = APIBlueprint("health", __name__, abp_tags=[Tag(name="health")])


@bp.get("/health")
def health() -> tuple[dict[str, Any], int]:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        logger.warning("Health check: the database is unreachable", exc_info=True)
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}, 200


@bp.get("/health/live")
def live() -> dict[str, str]:
    """Liveness: the process answers. Never the database, whose outage must not restart it."""
    return {"status": "ok"}
{%- else %}

from flask_openapi3 import APIBlueprint, Tag

bp = APIBlueprint("health", __name__, abp_tags=[Tag(name="health")])


@bp.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/health/live")
def live() -> dict[str, str]:
    """Liveness: the process answers. Never the database, whose outage must not restart it."""
    return {"status": "ok"}
{%- endif %}
