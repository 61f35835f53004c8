"""Everything under /api/v1."""

from fastapi import APIRouter

from {{ cookiecutter.project_slug }}.api.routes import {% if cookiecutter.use_auth %}auth, {% endif %}items{% if cookiecutter.use_auth %}, users{% endif %}

api_router = APIRouter(prefix="/api/v1")
{%- if cookiecutter.use_auth %}
api_router.include_router(auth.router)
api_router.include_router(users.router)
{%- endif %}
api_router.include_router(items.router)
