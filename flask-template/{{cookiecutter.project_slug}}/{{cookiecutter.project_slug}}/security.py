"""Passwords (Argon2) and bearer tokens (JWT)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import Flask, current_app, request
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from .config import current_settings
from .errors import APIError
from .extensions import db
from .models import User

ALGORITHM = "HS256"
BEARER = {"WWW-Authenticate": "Bearer"}


def init_app(app: Flask) -> None:
    # PASSWORD_HASH_PARAMS is empty in production (Argon2's recommended costs); tests lower it.
    params: dict[str, Any] = app.config.get("PASSWORD_HASH_PARAMS", {})
    hasher = PasswordHash((Argon2Hasher(**params),))
    app.extensions["password_hash"] = hasher
    # Made up front: computing it on the first unknown email would make that answer slower.
    app.extensions["password_dummy_hash"] = hasher.hash("dummy password")


def _hasher() -> PasswordHash:
    hasher = current_app.extensions["password_hash"]
    assert isinstance(hasher, PasswordHash)
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    """Check ``password``; with no user (``hashed`` None) spend the same time and fail."""
    if hashed is None:
        # A dummy verification, so an unknown email takes as long as a wrong password.
        _hasher().verify(password, current_app.extensions["password_dummy_hash"])
        return False
    return _hasher().verify(password, hashed)


def create_access_token(user_id: int) -> tuple[str, int]:
    """A signed token for ``user_id`` and its lifetime in seconds."""
    lifetime = timedelta(minutes=current_settings().access_token_expire_minutes)
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM), int(lifetime.total_seconds())


def current_user() -> User:
    """The user of the request's bearer token, or a 401 like FastAPI's OAuth2PasswordBearer."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise APIError(401, "Not authenticated", BEARER)
    invalid = APIError(401, "Could not validate credentials", BEARER)
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
        user_id = int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError) as error:
        raise invalid from error
    user = db.session.get(User, user_id)
    if user is None:
        raise invalid
    return user
