"""/api/v1/users: the signed-in user."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag

from .auth import NO_STORE, UserRead, user_json
from .security import BEARER_SECURITY, SIGNED_IN_RESPONSES, authenticate, current_user

bp = APIBlueprint(
    "users",
    __name__,
    url_prefix="/api/v1/users",
    abp_tags=[Tag(name="users")],
    abp_security=BEARER_SECURITY,
    abp_responses=SIGNED_IN_RESPONSES,
)
bp.before_request(authenticate)


@bp.get("/me", responses={200: UserRead})
def me() -> tuple[dict[str, Any], int, dict[str, str]]:
    return user_json(current_user()), 200, NO_STORE
