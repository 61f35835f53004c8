from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from {{ cookiecutter.project_slug }}.api.deps import SessionDep, SettingsDep
{%- if cookiecutter.use_worker %}
from {{ cookiecutter.project_slug }}.api.outbox import OutboxDep
{%- endif %}
from {{ cookiecutter.project_slug }}.core.ratelimit import attempt_limiter, limit_attempts
from {{ cookiecutter.project_slug }}.core.security import (
    burn_verify_time,
    create_access_token,
    hash_password,
    prepare_dummy_hash,
    verify_password,
)
from {{ cookiecutter.project_slug }}.db.models import User
from {{ cookiecutter.project_slug }}.schemas.token import Token
from {{ cookiecutter.project_slug }}.schemas.user import UserCreate, UserRead, normalize_email


class NoStoreRoute(APIRoute):
    """Answers that carry a token or an account: no cache may keep them (RFC 6749, 5.1)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except HTTPException as error:
                error.headers = {**(error.headers or {}), "Cache-Control": "no-store"}
                raise
            response.headers["Cache-Control"] = "no-store"
            return response

        return handle


class WithoutInputsRoute(NoStoreRoute):
    """422 answers leave out what was sent (each error's `input`): it may be a password."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                errors = [
                    {key: value for key, value in item.items() if key != "input"}
                    for item in error.errors()
                ]
                raise RequestValidationError(errors) from None

        return handle


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Paid at start-up rather than by the first login with an unknown email, which would be
    # slower than the others and so tell that the email is unknown.
    await run_in_threadpool(prepare_dummy_hash)
    yield


# Every attempt counts against LOGIN_RATE_LIMIT, before its body is even looked at.
router = APIRouter(
    lifespan=lifespan,
    prefix="/auth",
    tags=["auth"],
    route_class=WithoutInputsRoute,
    dependencies=[Depends(limit_attempts)],
    responses={429: {"description": "Too many attempts from this address"}},
)

EMAIL_TAKEN = "Email already registered"


def storable(text: str) -> bool:
    """False for text that no stored email can equal: with NUL, or an unpaired surrogate."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": EMAIL_TAKEN}},
)
async def register(payload: UserCreate, session: SessionDep{% if cookiecutter.use_worker %}, outbox: OutboxDep{% endif %}) -> UserRead:
    # Hashed before the first query, so the transaction (and any lock it takes) is not held
    # during the deliberately slow hash; a taken email costs the same time.
    hashed = await hash_password(payload.password)
    if await session.scalar(select(User.id).where(User.email == payload.email)) is not None:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=EMAIL_TAKEN)
    user = User(email=payload.email, hashed_password=hashed)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        # Two registrations raced past the check above; the unique index decided.
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=EMAIL_TAKEN) from None
{%- if cookiecutter.use_worker %}
    # Committed with the user or not at all; published once the commit is done.
    await outbox.welcome_email(user)
{%- endif %}
    return UserRead.model_validate(user)


@router.post("/token", responses={401: {"description": "Incorrect email or password"}})
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> Token:
    # Spelled as register stored it (schemas/user.py): another spelling is the same account.
    email = normalize_email(form.username)
    # Per email too: guessing one account's password from many addresses is refused as well.
    await attempt_limiter(request).hit("email", email)
    # Some databases fail on such text rather than find nothing: it is an unknown email.
    query = select(User).where(User.email == email)
    # Logging in only reads: its transaction starts as a reader, so it never waits for a
    # writer's lock.
    await session.connection(execution_options={"writes": False})
    user = await session.scalar(query) if storable(email) else None
    # Nothing to write: give the connection (and any lock it holds) back before the
    # deliberately slow password check.
    await session.commit()
    if user is None:
        await burn_verify_time(form.password)
        valid = False
    else:
        valid = await verify_password(form.password, user.hashed_password)
    if user is None or not valid:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    return Token(
        access_token=create_access_token(str(user.id), settings.signing_key, lifetime),
        expires_in=int(lifetime.total_seconds()),
    )
