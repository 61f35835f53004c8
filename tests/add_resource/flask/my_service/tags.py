"""/api/v1/tags: a user's tags, and the tags of an item."""

from __future__ import annotations

from typing import Any

import flask_openapi3
from flask_openapi3 import APIBlueprint
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .errors import APIError
from .extensions import db
from .items import as_json
from .lookup import find_or_404
from .models import Item, Tag
from .schemas import ItemPath, ItemRead, ItemTags, Pagination, TagCreate, TagPage, TagPath, TagRead
from .security import (
    BEARER_SECURITY,
    SIGNED_IN_RESPONSES,
    authenticate,
    current_user,
    current_user_id,
)

bp = APIBlueprint(
    "tags",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[flask_openapi3.Tag(name="tags")],
    abp_security=BEARER_SECURITY,
    abp_responses=SIGNED_IN_RESPONSES,
)
bp.before_request(authenticate)


@bp.post("/tags", responses={201: TagRead})
def create_tag(body: TagCreate) -> tuple[dict[str, Any], int]:
    current_user()
    tag = Tag(name=body.name, owner_id=current_user_id())
    db.session.add(tag)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise APIError(409, "Tag already exists") from None
    return TagRead.model_validate(tag).model_dump(mode="json"), 201


@bp.get("/tags", responses={200: TagPage})
def list_tags(query: Pagination) -> dict[str, Any]:
    current_user()
    owned = Tag.owner_id == current_user_id()
    tags = db.session.scalars(
        select(Tag).where(owned).order_by(Tag.name, Tag.id).limit(query.limit).offset(query.offset)
    )
    total = db.session.scalar(select(func.count()).select_from(Tag).where(owned)) or 0
    items = [TagRead.model_validate(tag) for tag in tags]
    return TagPage(items=items, total=total, **query.model_dump()).model_dump(mode="json")


@bp.delete("/tags/<tag_id>", responses={204: None})
def delete_tag(path: TagPath) -> tuple[str, int]:
    db.session.delete(find_or_404(Tag, path.tag_id, lock=True))
    db.session.commit()
    return "", 204


@bp.put("/items/<item_id>/tags", responses={200: ItemRead})
def set_item_tags(path: ItemPath, body: ItemTags) -> dict[str, Any]:
    item = find_or_404(Item, path.item_id, lock=True)
    wanted = set(body.tag_ids)
    owned = Tag.owner_id == current_user_id()
    tags = list(db.session.scalars(select(Tag).where(Tag.id.in_(wanted), owned)))
    if len(tags) != len(wanted):
        raise APIError(404, "Tag not found")
    item.tags = tags
    db.session.commit()
    return as_json(item)
