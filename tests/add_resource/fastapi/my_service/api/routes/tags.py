from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from my_service.api.deps import (
    UNAUTHORIZED,
    CurrentUserId,
    SessionDep,
    find_or_404,
    require_user,
)
from my_service.api.routes.items import ItemId, get_item
from my_service.db.models import Tag
from my_service.db.types import MAX_ID
from my_service.schemas.item import ItemRead
from my_service.schemas.tag import ItemTags, TagCreate, TagPage, TagRead

router = APIRouter(tags=["tags"], responses=UNAUTHORIZED)

TagId = Annotated[int, Path(ge=1, le=MAX_ID)]


async def get_tag(tag_id: TagId, session: SessionDep, user_id: CurrentUserId) -> Tag:
    return await find_or_404(session, Tag, tag_id, user_id, lock=True)


@router.post("/tags", status_code=status.HTTP_201_CREATED, responses={409: {}})
async def create_tag(payload: TagCreate, session: SessionDep, user_id: CurrentUserId) -> TagRead:
    await require_user(session, user_id)
    tag = Tag(name=payload.name, owner_id=user_id)
    session.add(tag)
    try:
        await session.flush()
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Tag already exists") from None
    return TagRead.model_validate(tag)


@router.get("/tags")
async def list_tags(
    session: SessionDep,
    user_id: CurrentUserId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> TagPage:
    await require_user(session, user_id)
    owned = Tag.owner_id == user_id
    tags = await session.scalars(
        select(Tag).where(owned).order_by(Tag.name, Tag.id).limit(limit).offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Tag).where(owned)) or 0
    return TagPage(
        items=[TagRead.model_validate(tag) for tag in tags], total=total, limit=limit, offset=offset
    )


@router.delete("/tags/{tag_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tag(tag: Annotated[Tag, Depends(get_tag)], session: SessionDep) -> Response:
    await session.delete(tag)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/items/{item_id}/tags")
async def set_item_tags(
    item_id: ItemId,
    payload: ItemTags,
    session: SessionDep,
    request: Request,
    user_id: CurrentUserId,
) -> ItemRead:
    item = await get_item(item_id, session, request, user_id)
    wanted = set(payload.tag_ids)
    tags = list(
        await session.scalars(select(Tag).where(Tag.id.in_(wanted), Tag.owner_id == user_id))
    )
    if len(tags) != len(wanted):
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Tag not found")
    item.tags = tags
    await session.flush()
    return ItemRead.model_validate(item)
