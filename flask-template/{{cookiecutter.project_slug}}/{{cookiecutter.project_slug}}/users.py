"""/api/v1/users: the signed-in user."""

from __future__ import annotations

from flask import Blueprint, Response

from .auth import UserOut
from .responses import json_response
from .security import current_user

bp = Blueprint("users", __name__, url_prefix="/api/v1/users")


@bp.get("/me")
def me() -> Response:
    return json_response(UserOut.model_validate(current_user()))
