"""Dependencies the routes declare with `Annotated` types."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends{% if cookiecutter.use_auth %}, HTTPException{% endif %}, Request{% if cookiecutter.use_auth %}, status
from fastapi.security import OAuth2PasswordBearer{% endif %}
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.project_slug }}.core.config import Settings
{%- if cookiecutter.use_auth %}
from {{ cookiecutter.project_slug }}.core.security import decode_access_token, subject_to_id
from {{ cookiecutter.project_slug }}.db.models import User
from {{ cookiecutter.project_slug }}.db.types import MAX_ID
{%- endif %}


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the route returns, rolled back if it raises."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    # A request that may write says so when its transaction begins, for a database that
    # must then take its write lock up front; the others ignore the option.
    writes = request.method not in READ_ONLY_METHODS
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


async def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)], session: SessionDep, settings: SettingsDep
) -> User:
    credentials_error = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    subject = decode_access_token(token, settings.signing_key)
    user_id = None if subject is None else subject_to_id(subject, MAX_ID)
    if user_id is None:
        raise credentials_error
    user = await session.get(User, user_id)
    if user is None:
        raise credentials_error
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
{%- endif %}
