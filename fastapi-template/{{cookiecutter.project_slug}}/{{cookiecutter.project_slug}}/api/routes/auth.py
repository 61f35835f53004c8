from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from {{ cookiecutter.project_slug }}.api.deps import SessionDep, SettingsDep
from {{ cookiecutter.project_slug }}.core.security import (
    burn_verify_time,
    create_access_token,
    hash_password,
    verify_password,
)
from {{ cookiecutter.project_slug }}.db.models import User
from {{ cookiecutter.project_slug }}.schemas.token import Token
from {{ cookiecutter.project_slug }}.schemas.user import UserCreate, UserRead


class WithoutInputsRoute(APIRoute):
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


router = APIRouter(prefix="/auth", tags=["auth"], route_class=WithoutInputsRoute)

EMAIL_TAKEN = "Email already registered"


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": EMAIL_TAKEN}},
)
async def register(payload: UserCreate, session: SessionDep) -> UserRead:
    # Hashed before the first query, so the transaction (and on SQLite the write lock) is
    # not held during the deliberately slow hash; a taken email costs the same time.
    hashed = await run_in_threadpool(hash_password, payload.password)
    if await session.scalar(select(User.id).where(User.email == payload.email)) is not None:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=EMAIL_TAKEN)
    user = User(email=payload.email, hashed_password=hashed)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        # Two registrations raced past the check above; the unique index decided.
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=EMAIL_TAKEN) from None
    return UserRead.model_validate(user)


@router.post("/token", responses={401: {"description": "Incorrect email or password"}})
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    user = await session.scalar(select(User).where(User.email == form.username.strip().lower()))
    # Nothing to write: give the connection (and on SQLite the write lock) back before the
    # deliberately slow password check.
    await session.commit()
    if user is None:
        # Argon2 is deliberately slow: keep it off the event loop.
        await run_in_threadpool(burn_verify_time, form.password)
        valid = False
    else:
        valid = await run_in_threadpool(verify_password, form.password, user.hashed_password)
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
