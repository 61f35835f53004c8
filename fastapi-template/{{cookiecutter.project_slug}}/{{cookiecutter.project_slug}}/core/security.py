"""Password hashing (Argon2) and signed access tokens (JWT, HS256)."""

import secrets
from datetime import UTC, datetime, timedelta
from functools import cache

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ALGORITHM = "HS256"

# Argon2's library defaults (RFC 9106 low-memory profile); tests swap in a cheaper hasher.
password_hash = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return password_hash.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return password_hash.verify(password, hashed)


@cache
def _dummy_hash() -> str:
    return password_hash.hash(secrets.token_urlsafe(32))


def prepare_dummy_hash() -> None:
    """Build the stand-in hash ahead of time (at start-up)."""
    _dummy_hash()


def burn_verify_time(password: str) -> None:
    """Do the work of a real check, so an unknown email answers as slowly as a wrong password."""
    password_hash.verify(password, _dummy_hash())


def create_access_token(subject: str, secret_key: str, expires_delta: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {"sub": subject, "iat": now, "exp": now + expires_delta}
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def decode_access_token(token: str, secret_key: str) -> str | None:
    """The subject of a valid token, or None for an expired, forged or malformed one."""
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.InvalidTokenError:
        return None
    subject = claims["sub"]
    return subject if isinstance(subject, str) else None
