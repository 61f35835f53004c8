from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy import bindparam, func, select{% if not cookiecutter.use_auth %}, true{% endif %}
{%- if cookiecutter.use_auth %}
from sqlalchemy.exc import IntegrityError
{%- endif %}

from {{ cookiecutter.project_slug }}.api.deps import (
    READ_ONLY_METHODS,
{%- if cookiecutter.use_auth %}
    UNAUTHORIZED,
    CurrentUserId,
{%- endif %}
    SessionDep,
    find_or_404,
{%- if cookiecutter.use_auth %}
    not_authenticated,
    require_user,
{%- endif %}
)
from {{ cookiecutter.project_slug }}.db.models import Item
from {{ cookiecutter.project_slug }}.db.types import MAX_ID
from {{ cookiecutter.project_slug }}.schemas.item import ItemCreate, ItemPage, ItemRead, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"]{% if cookiecutter.use_auth %}, responses=UNAUTHORIZED{% endif %})

ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]
{%- if cookiecutter.use_auth %}

# Each request's work in as few statements as the answer allows: an item found by its owner's
# id proves the owner exists (find_or_404, api/deps.py); only a miss asks again.
OWNED = Item.owner_id == bindparam("owner_id")
{%- else %}
OWNED = true()
{%- endif %}
# A page and its total in one statement: the total rides on each row (a window count). Built
# once and run with parameters, as find_or_404's statements are (by_id, api/deps.py).
PAGE = (
    select(Item, func.count().over())
    .where(OWNED)
    .order_by(Item.created_at.desc(), Item.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
COUNT = select(func.count()).select_from(Item).where(OWNED)


async def get_item(
    item_id: ItemId,
    session: SessionDep,
    request: Request,
{%- if cookiecutter.use_auth %}
    user_id: CurrentUserId,
{%- endif %}
) -> Item:
    lock = request.method not in READ_ONLY_METHODS
    return await find_or_404(session, Item, item_id{% if cookiecutter.use_auth %}, user_id{% endif %}, lock=lock)


# The item named by the path{% if cookiecutter.use_auth %} and owned by the caller{% endif %}, or 404.
RequestedItem = Annotated[Item, Depends(get_item)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_item(
    payload: ItemCreate,
    session: SessionDep,
{%- if cookiecutter.use_auth %}
    user_id: CurrentUserId,
{%- endif %}
) -> ItemRead:
    item = Item(**payload.model_dump(){% if cookiecutter.use_auth %}, owner_id=user_id{% endif %})
    session.add(item)
{%- if cookiecutter.use_auth %}
    try:
        await session.flush()
    except IntegrityError:
        # The one constraint a valid item can break: its owner's foreign key. The user is gone.
        raise not_authenticated() from None
{%- else %}
    await session.flush()
{%- endif %}
    return ItemRead.model_validate(item)


@router.get("")
async def list_items(
    session: SessionDep,
{%- if cookiecutter.use_auth %}
    user_id: CurrentUserId,
{%- endif %}
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ItemPage:
    params = {"limit": limit, "offset": offset{% if cookiecutter.use_auth %}, "owner_id": user_id{% endif %}}
    rows = (await session.execute(PAGE, params)).all()
    # A page past the end has no row to carry the total: count on their own.
{%- if cookiecutter.use_auth %}
    if rows:
        total = rows[0][1]
    else:
        await require_user(session, user_id)
        total = await session.scalar(COUNT, params) or 0
{%- else %}
    total = rows[0][1] if rows else await session.scalar(COUNT, params) or 0
{%- endif %}
    return ItemPage(
        items=[ItemRead.model_validate(item) for item, _ in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{item_id}")
async def read_item(item: RequestedItem) -> ItemRead:
    return ItemRead.model_validate(item)


@router.patch("/{item_id}")
async def update_item(
    item_id: ItemId,
    payload: ItemUpdate,
    session: SessionDep,
    request: Request,
{%- if cookiecutter.use_auth %}
    user_id: CurrentUserId,
{%- endif %}
) -> ItemRead:
    # Not RequestedItem: a route with a body finds its row itself (find_or_404, api/deps.py).
    item = await get_item(item_id, session, request{% if cookiecutter.use_auth %}, user_id{% endif %})
    for field, value in payload.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    await session.flush()
    return ItemRead.model_validate(item)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_item(item: RequestedItem, session: SessionDep) -> Response:
    await session.delete(item)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
