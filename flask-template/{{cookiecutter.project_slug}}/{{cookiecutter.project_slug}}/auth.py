"""/api/v1/auth: register and log in (OAuth2 password flow)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import validation
from .errors import APIError, RequestValidationError, validation_error
from .extensions import db
from .models import User
from .responses import json_response
from .security import BEARER, create_access_token, hash_password, verify_password

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


@bp.errorhandler(RequestValidationError)
def validation_error_without_input(error: RequestValidationError) -> tuple[Response, int]:
    """These bodies carry passwords: report what is wrong, never what was sent."""
    return validation_error(RequestValidationError([_without_input(item) for item in error.errors]))


def _without_input(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key != "input"}


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=8, max_length=128)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    created_at: datetime


class TokenForm(BaseModel):
    """The OAuth2 password request form; ``username`` carries the email."""

    username: str
    password: str
    grant_type: str | None = Field(default=None, pattern="^password$")
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int


@bp.post("/register")
def register() -> Response:
    data = validation.body(UserCreate, validation.read_json())
    email = data.email.lower()
    if db.session.execute(select(User.id).where(User.email == email)).first() is not None:
        raise APIError(409, "Email already registered")
    user = User(email=email, hashed_password=hash_password(data.password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as error:  # registered concurrently since the check above
        db.session.rollback()
        raise APIError(409, "Email already registered") from error
    return json_response(UserOut.model_validate(user), 201)


@bp.post("/token")
def token() -> Response:
    data = validation.form(TokenForm)
    # Emails are stored lowercased (see register); a pasted address may carry spaces.
    email = data.username.strip().lower()
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if not verify_password(data.password, user.hashed_password if user else None) or user is None:
        raise APIError(401, "Incorrect email or password", BEARER)
    access_token, expires_in = create_access_token(user.id)
    return json_response(Token(access_token=access_token, expires_in=expires_in))
