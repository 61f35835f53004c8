"""GET /health/live: is the process up? GET /health: is the service{% if cookiecutter.database != "none" %} and its database{% endif %} up?"""

from __future__ import annotations
{%- if cookiecutter.database != "none" %}

import contextlib
import logging
import threading
import time
from typing import Any

from flask import current_app
from flask.blueprints import BlueprintSetupState
from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .errors import ERROR_RESPONSES
from .extensions import db

logger = logging.getLogger(__name__)
bp = APIBlueprint("health", __name__, abp_tags=[Tag(name="health")], abp_responses=ERROR_RESPONSES)

# Probes and load balancers call /health more than any other route: one `SELECT 1` per
# second per process answers them all, and a database that went away shows within a second.
PROBE_MAX_AGE_SECONDS = 1.0


def database_reachable() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        logger.warning("Health check: the database is unreachable", exc_info=True)
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        return False
    return True


class DatabaseProbe:
    """The last `SELECT 1`, shared by the calls of the next second; calls that come while it
    runs wait for its answer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = -PROBE_MAX_AGE_SECONDS
        self.answer = False

    def reachable(self) -> bool:
        with self.lock:
            now = time.monotonic()
            if now - self.started >= PROBE_MAX_AGE_SECONDS:
                self.answer = database_reachable()
                self.started = now
            return self.answer


@bp.record_once
def _add_probe(state: BlueprintSetupState) -> None:
    # One per app: tests build several apps, each on a database of its own.
    state.app.extensions["database_probe"] = DatabaseProbe()


@bp.get("/health")
def health() -> tuple[dict[str, Any], int]:
    probe: DatabaseProbe = current_app.extensions["database_probe"]
    if probe.reachable():
        return {"status": "ok", "database": "ok"}, 200
    return {"status": "unavailable", "database": "unreachable"}, 503


@bp.get("/health/live")
def live() -> dict[str, str]:
    """Liveness: the process answers. Never the database, whose outage must not restart it."""
    return {"status": "ok"}
{%- else %}

from flask_openapi3 import APIBlueprint, Tag

from .errors import ERROR_RESPONSES

bp = APIBlueprint("health", __name__, abp_tags=[Tag(name="health")], abp_responses=ERROR_RESPONSES)


@bp.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/health/live")
def live() -> dict[str, str]:
    """Liveness: the process answers. Never the database, whose outage must not restart it."""
    return {"status": "ok"}
{%- endif %}
