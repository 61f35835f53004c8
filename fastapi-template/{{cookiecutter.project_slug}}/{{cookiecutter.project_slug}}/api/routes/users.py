from fastapi import APIRouter

from {{ cookiecutter.project_slug }}.api.deps import UNAUTHORIZED, CurrentUser
from {{ cookiecutter.project_slug }}.api.routes.auth import NoStoreRoute
from {{ cookiecutter.project_slug }}.schemas.user import UserRead

router = APIRouter(
    prefix="/users", tags=["users"], route_class=NoStoreRoute, responses=UNAUTHORIZED
)


@router.get("/me")
async def read_me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)
