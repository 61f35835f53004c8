"""Passwords (Argon2, a bounded number at a time) and bearer tokens (JWT)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import jwt
from flask import current_app, g, request
from flask_openapi3 import OpenAPI
from flask_openapi3.types import ResponseDict
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from .config import Settings, current_settings
from .errors import ERROR_RESPONSES, APIError, ErrorBody
from .extensions import db
from .models import User
from .schemas import MAX_ID

logger = logging.getLogger(__name__)

ALGORITHM = "HS256"
BEARER = {"WWW-Authenticate": "Bearer"}
# The OAuth2 password flow, as /openapi.json describes it to clients and /docs.
SECURITY_SCHEMES: dict[str, Any] = {
    "OAuth2PasswordBearer": {
        "type": "oauth2",
        "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
    }
}
BEARER_SECURITY: list[dict[str, list[str]]] = [{"OAuth2PasswordBearer": []}]
# What a blueprint of routes that need a token documents (``abp_responses=``): the 401 too.
SIGNED_IN_RESPONSES: ResponseDict = {**ERROR_RESPONSES, 401: ErrorBody}


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


# Each Argon2 hash takes 64 MiB and a core for a while: at most one per core at a time,
# in threads of their own at a lower CPU priority, and as many requests again waiting for
# a turn. A flood beyond that is refused at once (503), so that it neither exhausts memory
# nor starves the requests that do not hash (`/health` included) of threads or CPU. The
# README's "Memory" section sizes a container's memory limit from this.
CORES = usable_cpus()
HASHING_NICENESS = 10  # added to the server's own nice value, up to the lowest priority (19)
ADMITTED = threading.BoundedSemaphore(2 * CORES)
HASHING_WAIT_SECONDS = 10


def _lower_priority() -> None:
    # On Linux the nice value belongs to the thread, and Argon2's own threads inherit it.
    # Relative to the server's: a server started with `nice` still hashes below its requests.
    with suppress(OSError, AttributeError):
        thread = threading.get_native_id()
        niceness = min(19, os.getpriority(os.PRIO_PROCESS, thread) + HASHING_NICENESS)
        os.setpriority(os.PRIO_PROCESS, thread, niceness)


HASHING = ThreadPoolExecutor(
    CORES, thread_name_prefix="password-hashing", initializer=_lower_priority
)
T = TypeVar("T")


def busy() -> APIError:
    # A new one per refusal: raising one shared exception again would lengthen its
    # traceback each time, keeping every refused request's frames alive.
    return APIError(503, "Service Unavailable", {"Retry-After": "1"})


def init_app(app: OpenAPI, settings: Settings) -> None:
    settings.refuse_unsafe_production()
    secret_key = settings.secret_key
    if not secret_key:
        logger.warning(
            "SECRET_KEY is not set: using a random one, so access tokens die with this process."
        )
        secret_key = os.urandom(32).hex()
    app.config["SECRET_KEY"] = secret_key
    app.security_schemes = SECURITY_SCHEMES
    # PASSWORD_HASH_PARAMS is empty in production (Argon2's recommended costs); tests lower it.
    params: dict[str, Any] = app.config.get("PASSWORD_HASH_PARAMS", {})
    hasher = PasswordHash((Argon2Hasher(**params),))
    app.extensions["password_hash"] = hasher
    # Made up front: computing it on the first unknown email would make that answer slower.
    app.extensions["password_dummy_hash"] = hasher.hash("dummy password")


def _hasher() -> PasswordHash:
    hasher: PasswordHash = current_app.extensions["password_hash"]
    return hasher


def _in_turn(work: Callable[..., T], *args: Any) -> T:
    """Run ``work`` on a hashing thread; 503 when the queue is full or the wait too long."""
    if not ADMITTED.acquire(blocking=False):
        raise busy()
    try:
        turn = HASHING.submit(work, *args)
        try:
            return turn.result(timeout=HASHING_WAIT_SECONDS)
        except TimeoutError:
            turn.cancel()
            raise busy() from None
    finally:
        ADMITTED.release()


def hash_password(password: str) -> str:
    return _in_turn(_hasher().hash, password)


def verify_password(password: str, hashed: str | None) -> bool:
    """Check ``password``; with no user (``hashed`` None) spend the same time and fail."""
    # A dummy verification, so an unknown email takes as long as a wrong password.
    dummy: str = current_app.extensions["password_dummy_hash"]
    matches = _in_turn(_hasher().verify, password, hashed or dummy)
    return matches and hashed is not None


def create_access_token(user_id: int) -> tuple[str, int]:
    """A signed token for ``user_id`` and its lifetime in seconds."""
    lifetime = timedelta(minutes=current_settings().access_token_expire_minutes)
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + lifetime}
    token = jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


def user_id_of(sub: Any) -> int | None:
    """The user id a token's ``sub`` holds, in docs/api.md's one form: canonical decimal."""
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit()) or str(int(sub)) != sub:
        return None
    user_id = int(sub)
    return user_id if 1 <= user_id <= MAX_ID else None


def lifetime_within(claims: dict[str, Any], limit_seconds: int) -> bool:
    """Whether ``iat`` and ``exp`` are whole seconds and the token lives at most
    ``limit_seconds``. PyJWT itself accepts an ``exp`` written as a string, or set centuries
    ahead, when the token is signed with the real key."""
    issued, expires = claims["iat"], claims["exp"]
    if type(issued) is not int or type(expires) is not int:
        return False
    return 0 < expires - issued <= limit_seconds


def authenticate() -> None:
    """Run before every view that needs a signed-in user: 401 without a valid token.

    Only the token is checked here, without a query: each view reads the user's rows in
    the statement it needs anyway (see items.py), and ``current_user`` reads the user."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise APIError(401, "Not authenticated", BEARER)
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.InvalidTokenError as error:
        raise invalid_credentials() from error
    user_id = user_id_of(claims["sub"])
    max_seconds = 60 * current_settings().access_token_expire_minutes
    if user_id is None or not lifetime_within(claims, max_seconds):
        raise invalid_credentials()
    g.user_id = user_id


def invalid_credentials() -> APIError:
    return APIError(401, "Could not validate credentials", BEARER)


def current_user_id() -> int:
    """The id of the user a valid token names (``authenticate`` checked it)."""
    user_id: int = g.user_id
    return user_id


def current_user() -> User:
    """The token's user, read once per request; 401 if it no longer exists."""
    if "user" not in g:
        g.user = db.session.get(User, current_user_id())
    if g.user is None:
        raise invalid_credentials()
    user: User = g.user
    return user
