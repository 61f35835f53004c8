"""/api/v1/auth: register and log in (OAuth2 password flow)."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any

from flask import has_request_context, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import {% if cookiecutter.use_worker %}outbox, {% endif %}ratelimit
from .errors import ERROR_RESPONSES, APIError
from .extensions import db
from .models import User
from .schemas import NO_NUL
from .security import BEARER, create_access_token, hash_password, verify_password

bp = APIBlueprint(
    "auth",
    __name__,
    url_prefix="/api/v1/auth",
    abp_tags=[Tag(name="auth")],
    abp_responses=ERROR_RESPONSES,
)
bp.before_request(ratelimit.per_client)
# Token and user answers must not be kept by caches (RFC 6749, section 5.1).
NO_STORE = {"Cache-Control": "no-store"}
# RFC 5321, 4.5.3.1: at most 64 octets before the @ and 254 in all.
LOCAL_PART_MAX, EMAIL_MAX = 64, 254


def normalize_email(text: str) -> str:
    """The one spelling of an address that register stores and login looks up: NFKC folds
    look-alikes (a fullwidth letter is that letter) and composes accents (an e and a
    combining accent are one character), then lowercase: two spellings, one account."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip()).lower())


def _folded(value: object) -> object:
    return normalize_email(value) if isinstance(value, str) else value


def _within_rfc_5321(value: str) -> str:
    value = normalize_email(value)
    local = value.rpartition("@")[0]
    if len(local.encode()) > LOCAL_PART_MAX or len(value.encode()) > EMAIL_MAX:
        raise ValueError(f"at most {LOCAL_PART_MAX} bytes before the @ and {EMAIL_MAX} in all")
    return value


# Folded before it is checked, so that a fullwidth at sign is checked as the @ it becomes.
Email = Annotated[EmailStr, BeforeValidator(_folded), AfterValidator(_within_rfc_5321)]


class UserCreate(BaseModel):
    # hide_input_in_errors: a 422 says what is wrong with a password, never what it was.
    model_config = ConfigDict(extra="forbid", from_attributes=True, hide_input_in_errors=True)

    email: Email
    password: str = Field(min_length=8, max_length=128, pattern=NO_NUL)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    created_at: datetime


class TokenForm(BaseModel):
    """The OAuth2 password request form; ``username`` carries the email."""

    model_config = ConfigDict(hide_input_in_errors=True)

    username: str
    password: str
    grant_type: str | None = Field(default=None, pattern="^password$")
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None

    @model_validator(mode="before")
    @classmethod
    def as_sent(cls, data: Any) -> Any:
        # flask-openapi3 reads form values as JSON where it can ("1234" becomes 1234); the
        # OAuth2 form is text, so the fields are taken as sent, an empty one as missing.
        if has_request_context() and request.form:
            return {name: value for name, value in request.form.items() if value}
        return data


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int


def user_json(user: User) -> dict[str, Any]:
    return UserRead.model_validate(user).model_dump(mode="json")


@bp.post("/register", responses={201: UserRead})
def register(body: UserCreate) -> tuple[dict[str, Any], int, dict[str, str]]:
    email = body.email
    # Hashed before the first query, so the transaction (and any write lock) is
    # not held during the deliberately slow hash; a taken email costs the same time.
    hashed_password = hash_password(body.password)
    if db.session.execute(select(User.id).where(User.email == email)).first() is not None:
        raise APIError(409, "Email already registered")
    user = User(email=email, hashed_password=hashed_password)
    db.session.add(user)
{%- if cookiecutter.use_worker %}
    # Committed with the user, or not at all; its job is published after the commit.
    outbox.add(outbox.WELCOME_EMAIL, {"email": email})
{%- endif %}
    try:
        db.session.commit()
    except IntegrityError as error:  # registered concurrently since the check above
        db.session.rollback()
        raise APIError(409, "Email already registered") from error
    return user_json(user), 201, NO_STORE


@bp.post("/token", responses={200: Token})
def token(form: TokenForm) -> tuple[dict[str, Any], int, dict[str, str]]:
    # Spelled as register stored it (normalize_email): another spelling is the same account.
    email = normalize_email(form.username)
    ratelimit.hit("token-email", email)
    # No stored email holds a NUL, and not every database accepts one in a query.
    found = None if "\x00" in email else select(User).where(User.email == email)
    # Logging in only reads: its transaction starts as a reader, so it never waits for a
    # writer's lock (see the database module).
    db.session.connection(execution_options={"writes": False})
    user = db.session.execute(found).scalar_one_or_none() if found is not None else None
    user_id, hashed = (user.id, user.hashed_password) if user else (None, None)
    # Nothing to write: give the connection back before the deliberately slow password
    # check (the values it needs were read above: the rollback expires `user`).
    db.session.rollback()
    if not verify_password(form.password, hashed) or user_id is None:
        raise APIError(401, "Incorrect email or password", BEARER)
    access_token, expires_in = create_access_token(user_id)
    return Token(access_token=access_token, expires_in=expires_in).model_dump(), 200, NO_STORE
