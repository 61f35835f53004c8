{%- if cookiecutter.database != 'none' -%}
import asyncio
import logging

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from {{ cookiecutter.project_slug }}.schemas.health import Health, Liveness

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

# Load balancers give up after a few seconds; answer before they do.
DATABASE_TIMEOUT_SECONDS = 2.0


async def database_reachable(engine: AsyncEngine) -> bool:
    """Run `SELECT 1`; any failure (refused, timed out, bad credentials) means unreachable."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # health must answer, whatever the database does
        logger.warning("database health check failed", exc_info=True)
        return False
    return True


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database is unreachable"}},
)
async def health(request: Request) -> Health | JSONResponse:
    if await database_reachable(request.app.state.engine):
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
