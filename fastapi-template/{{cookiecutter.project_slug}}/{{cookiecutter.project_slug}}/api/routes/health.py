{%- if cookiecutter.database != 'none' -%}
import asyncio
import logging
import time

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from {{ cookiecutter.project_slug }}.schemas.health import Health, Liveness

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

# Load balancers give up after a few seconds; answer before they do.
DATABASE_TIMEOUT_SECONDS = 2.0
# Probes and load balancers call /health more than any other route: one `SELECT 1` per
# second per process answers them all, and a database that went away shows within a second.
PROBE_MAX_AGE_SECONDS = 1.0


async def database_reachable(engine: AsyncEngine) -> bool:
    """Run `SELECT 1`; any failure (refused, timed out, bad credentials) means unreachable."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # health must answer, whatever the database does
        logger.warning("database health check failed", exc_info=True)
        return False
    return True


class DatabaseProbe:
    """The last `SELECT 1`, shared by the calls of the next second (and by those that come
    while it runs)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.started = -PROBE_MAX_AGE_SECONDS
        self.probe: asyncio.Task[bool] | None = None

    async def reachable(self) -> bool:
        now = time.monotonic()
        stale = now - self.started >= PROBE_MAX_AGE_SECONDS
        if self.probe is None or (stale and self.probe.done()):
            self.started = now
            self.probe = asyncio.create_task(database_reachable(self.engine))
        # Shielded: a caller that hangs up does not cancel the others' answer.
        return await asyncio.shield(self.probe)


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database is unreachable"}},
)
async def health(request: Request) -> Health | JSONResponse:
    probe: DatabaseProbe | None = getattr(request.app.state, "database_probe", None)
    if probe is None:
        probe = request.app.state.database_probe = DatabaseProbe(request.app.state.engine)
    if await probe.reachable():
        return Health(status="ok", database="ok")
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content=Health(status="unavailable", database="unreachable").model_dump(),
    )


@router.get("/health/live")
async def live() -> Liveness:
    """Liveness: the process answers. Never the database, whose outage must not restart it."""
    return Liveness(status="ok")
{%- else -%}
from fastapi import APIRouter

from {{ cookiecutter.project_slug }}.schemas.health import Health, Liveness

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> Health:
    return Health(status="ok")


@router.get("/health/live")
async def live() -> Liveness:
    """Liveness: the process answers. Never the database, whose outage must not restart it."""
    return Liveness(status="ok")
{%- endif %}
