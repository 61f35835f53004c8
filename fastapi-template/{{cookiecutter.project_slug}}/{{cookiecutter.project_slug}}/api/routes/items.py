from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from sqlalchemy import func, select

from {{ cookiecutter.project_slug }}.api.deps import READ_ONLY_METHODS, {% if cookiecutter.use_auth %}CurrentUser, {% endif %}SessionDep
from {{ cookiecutter.project_slug }}.db.models import Item
from {{ cookiecutter.project_slug }}.db.types import MAX_ID
from {{ cookiecutter.project_slug }}.schemas.item import ItemCreate, ItemPage, ItemRead, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])

ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]


async def get_item(
    item_id: ItemId,
    session: SessionDep,
    request: Request,
{%- if cookiecutter.use_auth %}
    user: CurrentUser,
{%- endif %}
) -> Item:
    # An item about to be changed or deleted is locked as it is read (FOR UPDATE), so two
    # requests racing on it are served one after the other: the second sees the first's
    # result (a deleted item is a 404), instead of failing on a row that vanished.
    changing = request.method not in READ_ONLY_METHODS
    item = await session.get(Item, item_id, with_for_update=changing)
{%- if cookiecutter.use_auth %}
    # Someone else's item answers like a missing one: its existence is not the caller's business.
    if item is None or item.owner_id != user.id:
{%- else %}
    if item is None:
{%- endif %}
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Item not found")
    return item


# The item named by the path{% if cookiecutter.use_auth %} and owned by the caller{% endif %}, or 404.
RequestedItem = Annotated[Item, Depends(get_item)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_item(
    payload: ItemCreate,
    session: SessionDep,
{%- if cookiecutter.use_auth %}
    user: CurrentUser,
{%- endif %}
) -> ItemRead:
    item = Item(**payload.model_dump(){% if cookiecutter.use_auth %}, owner_id=user.id{% endif %})
    session.add(item)
    await session.flush()
    return ItemRead.model_validate(item)


@router.get("")
async def list_items(
    session: SessionDep,
{%- if cookiecutter.use_auth %}
    user: CurrentUser,
{%- endif %}
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ItemPage:
{%- if cookiecutter.use_auth %}
    owned = Item.owner_id == user.id
    total = await session.scalar(select(func.count()).select_from(Item).where(owned))
    query = select(Item).where(owned)
{%- else %}
    total = await session.scalar(select(func.count()).select_from(Item))
    query = select(Item)
{%- endif %}
    rows = await session.scalars(
        query.order_by(Item.created_at.desc(), Item.id.desc()).limit(limit).offset(offset)
    )
    return ItemPage(
        items=[ItemRead.model_validate(item) for item in rows],
        total=total or 0,
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
    user: CurrentUser,
{%- endif %}
) -> ItemRead:
    # Not RequestedItem: dependencies run before the body is validated, and a bad body
    # must be 422 whether or not the item exists.
    item = await get_item(item_id, session, request{% if cookiecutter.use_auth %}, user{% endif %})
    for field, value in payload.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    await session.flush()
    return ItemRead.model_validate(item)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_item(item: RequestedItem, session: SessionDep) -> Response:
    await session.delete(item)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
