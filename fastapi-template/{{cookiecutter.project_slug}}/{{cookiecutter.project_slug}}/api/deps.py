"""Dependencies the routes declare with `Annotated` types."""

from collections.abc import AsyncIterator
from functools import cache
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, status
{%- if cookiecutter.use_auth %}
from fastapi.security import OAuth2PasswordBearer
{%- endif %}
from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.project_slug }}.core.config import Settings
{%- if cookiecutter.use_auth %}
from {{ cookiecutter.project_slug }}.core.security import decode_access_token, subject_to_id
{%- endif %}
from {{ cookiecutter.project_slug }}.db.base import Base
{%- if cookiecutter.use_auth %}
from {{ cookiecutter.project_slug }}.db.models import User
from {{ cookiecutter.project_slug }}.db.types import MAX_ID
{%- endif %}


async def get_app_settings(request: Request) -> Settings:
    # async although it awaits nothing: FastAPI runs a plain `def` dependency in its thread
    # pool, a hop to a thread and back on every request that names the settings.
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the route returns, rolled back if it raises.

    A request that only reads gets a session with no transaction around its statements, where
    the database allows it (db/session.py): a single read then costs one round trip.
    """
    writes = request.method not in READ_ONLY_METHODS
    sessionmaker: async_sessionmaker[AsyncSession] = (
        request.app.state.sessionmaker if writes else request.app.state.read_sessionmaker
    )
    # A request that may write says so when its transaction begins, for a database that
    # must then take its write lock up front; the others ignore the option.
    async with sessionmaker(execution_options={"writes": writes}) as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function" commits before the response is sent, so a failed commit is a 500, not a lie.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
{%- if cookiecutter.use_auth %}

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")
# What a route that needs a token may answer besides its own: a router of such routes passes
# it as `responses=`, so that the OpenAPI document lists the 401 (routes/items.py).
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "The bearer token is missing, invalid or expired, or its user is gone"}
}


def not_authenticated() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def get_current_user_id(
    token: Annotated[str, Depends(oauth2_scheme)], settings: SettingsDep
) -> int:
    """The user id a valid token names. Whether that user still exists is left to the
    route's own query, so that one statement can answer both (see routes/items.py)."""
    subject = decode_access_token(token, settings.signing_key, settings.access_token_expire_minutes)
    user_id = None if subject is None else subject_to_id(subject, MAX_ID)
    if user_id is None:
        raise not_authenticated()
    return user_id


CurrentUserId = Annotated[int, Depends(get_current_user_id)]


async def require_user(session: AsyncSession, user_id: int) -> None:
    """401 when the token's user is gone (deleted after the token was issued)."""
    if await session.scalar(select(User.id).where(User.id == user_id)) is None:
        raise not_authenticated()


async def get_current_user(user_id: CurrentUserId, session: SessionDep) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise not_authenticated()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
{%- endif %}

Row = TypeVar("Row", bound=Base)


@cache
def by_id(model: type[Base], lock: bool) -> Select[Any]:
    """find_or_404's statement, built once per model and run with parameters: building one per
    request costs more CPU than running it (0.5-1 ms of 2.3-3.5 on `GET /api/v1/items/{id}`)."""
    columns = model.__table__.c
{%- if cookiecutter.use_auth %}
    query = select(model).where(
        columns.id == bindparam("row_id"), columns.owner_id == bindparam("owner_id")
    )
{%- else %}
    query = select(model).where(columns.id == bindparam("row_id"))
{%- endif %}
    return query.with_for_update() if lock else query


async def find_or_404(
    session: AsyncSession,
    model: type[Row],
    row_id: int,
{%- if cookiecutter.use_auth %}
    owner_id: int,
{%- endif %}
    *,
    lock: bool = False,
) -> Row:
    """The `model` row with id `row_id`{% if cookiecutter.use_auth %} if user `owner_id` owns it{% endif %},
    or 404 "<Model> not found".
{%- if cookiecutter.use_auth %}

    Someone else's row answers like a missing one: its existence is not the caller's
    business. A row found by its owner's id also proves that the owner still exists (rows go
    with their owner, ON DELETE CASCADE): only a miss asks whether the user is gone (401).
{%- endif %}

    `lock=True` for a row about to be changed or deleted: it is locked as it is read (FOR
    UPDATE), so two requests racing on it are served one after the other, and the second sees
    the first's result (a deleted row is a 404) instead of failing on a row that vanished.

    404 or 422, the one rule: FastAPI runs a route's dependencies before it validates the
    body. A route without a body takes the row as a dependency that calls this
    (`RequestedItem`, routes/items.py); a route with a body calls it in its own body, so that a
    bad body is a 422 whether or not the row exists.
    """
    params = {"row_id": row_id{% if cookiecutter.use_auth %}, "owner_id": owner_id{% endif %}}
    row: Row | None = await session.scalar(by_id(model, lock), params)
    if row is None:
{%- if cookiecutter.use_auth %}
        await require_user(session, owner_id)
{%- endif %}
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{model.__name__} not found")
    return row
