"""Password hashing (Argon2) and signed access tokens (JWT, HS256)."""

import asyncio
import os
import secrets
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import jwt
from fastapi import HTTPException, status
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from starlette.concurrency import run_in_threadpool

ALGORITHM = "HS256"

# Argon2's library defaults (RFC 9106 low-memory profile); tests swap in a cheaper hasher.
password_hash = PasswordHash((Argon2Hasher(),))


def usable_cpus(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The CPUs this process may run on, capped by the container's CPU limit (the cgroup v2
    quota): os.cpu_count() counts the whole node's, which a pod's limit is a share of."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no CPU affinity
        cpus = os.cpu_count() or 1
    with suppress(OSError, ValueError):
        quota, period = cpu_max.read_text().split()
        if quota != "max":
            cpus = min(cpus, int(quota) // int(period))
    return max(cpus, 1)


# Each hash holds its memory cost (64 MiB with the defaults) while it runs: one per usable CPU
# at a time, so that a flood of logins waits its turn instead of exhausting memory (the
# README's "Memory" section sizes a container's memory limit from this).
HASHING_SLOTS = usable_cpus()
# How long a request waits for its turn before it is answered 503.
HASHING_WAIT_SECONDS = 10.0
_hashing_slots = asyncio.Semaphore(HASHING_SLOTS)

T = TypeVar("T")


class HashingBusy(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="Service Unavailable",
            headers={"Retry-After": "1"},
        )


async def _in_hashing_slot(work: Callable[[], T]) -> T:
    """Run `work` in a thread, off the event loop, once a hashing slot is free."""
    try:
        async with asyncio.timeout(HASHING_WAIT_SECONDS):
            await _hashing_slots.acquire()
    except TimeoutError:
        raise HashingBusy from None
    try:
        return await run_in_threadpool(work)
    finally:
        _hashing_slots.release()


async def hash_password(password: str) -> str:
    return await _in_hashing_slot(lambda: password_hash.hash(password))


async def verify_password(password: str, hashed: str) -> bool:
    return await _in_hashing_slot(lambda: password_hash.verify(password, hashed))


@cache
def _dummy_hash() -> str:
    return password_hash.hash(secrets.token_urlsafe(32))


def prepare_dummy_hash() -> None:
    """Build the stand-in hash ahead of time (at start-up)."""
    _dummy_hash()


async def burn_verify_time(password: str) -> None:
    """Do the work of a real check, so an unknown email answers as slowly as a wrong password."""
    await _in_hashing_slot(lambda: password_hash.verify(password, _dummy_hash()))


def create_access_token(subject: str, secret_key: str, expires_delta: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {"sub": subject, "iat": now, "exp": now + expires_delta}
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def subject_to_id(subject: str, max_id: int) -> int | None:
    """The user id a token's subject names, accepted only in canonical decimal form.

    "+2", " 2", "02" and digits of other scripts all parse as 2 in Python: one spelling only.
    """
    if len(subject) > len(str(max_id)) or not (subject.isascii() and subject.isdigit()):
        return None
    user_id = int(subject)
    return user_id if str(user_id) == subject and 1 <= user_id <= max_id else None


def decode_access_token(token: str, secret_key: str, max_minutes: int) -> str | None:
    """The subject of a valid token, or None for an expired, forged or malformed one, or one
    that would live longer than `max_minutes` (ACCESS_TOKEN_EXPIRE_MINUTES)."""
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
    if not lifetime_within(claims, max_minutes * 60):
        return None
    return subject if isinstance(subject, str) else None


def lifetime_within(claims: dict[str, Any], limit_seconds: int) -> bool:
    """Whether `iat` and `exp` are whole seconds and the token lives at most `limit_seconds`. PyJWT
    itself accepts an `exp` written as a string, or set centuries ahead, when the token is
    signed with the real key."""
    issued, expires = claims["iat"], claims["exp"]
    if type(issued) is not int or type(expires) is not int:
        return False
    return 0 < expires - issued <= limit_seconds
