"""/api/v1/items: create, list, read, change and delete items."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import ColumnElement, func, select

from .errors import APIError
from .extensions import db
from .models import Item
from .schemas import ItemCreate, ItemPage, ItemPath, ItemRead, ItemUpdate, Pagination
{%- if cookiecutter.use_auth %}
from .security import BEARER_SECURITY, authenticate, current_user

bp = APIBlueprint(
    "items",
    __name__,
    url_prefix="/api/v1/items",
    abp_tags=[Tag(name="items")],
    abp_security=BEARER_SECURITY,
)
bp.before_request(authenticate)


def visible_items() -> list[ColumnElement[bool]]:
    """Each user sees only their own items."""
    return [Item.owner_id == current_user().id]


def new_item(data: ItemCreate) -> Item:
    return Item(**data.model_dump(), owner_id=current_user().id)
{%- else %}

bp = APIBlueprint("items", __name__, url_prefix="/api/v1/items", abp_tags=[Tag(name="items")])


def visible_items() -> list[ColumnElement[bool]]:
    """Without auth every item is visible to everyone."""
    return []


def new_item(data: ItemCreate) -> Item:
    return Item(**data.model_dump())
{%- endif %}


def find_item(item_id: int, *, changing: bool = False) -> Item:
    """The item, or 404. One about to be changed or deleted is locked as it is read (FOR
    UPDATE), so two requests racing on it are served one after the other: the second sees
    the first's result (a deleted item is a 404), instead of failing on a row that vanished."""
    query = select(Item).where(Item.id == item_id, *visible_items())
    found = db.session.execute(query.with_for_update() if changing else query)
    item = found.scalar_one_or_none()
    if item is None:
        raise APIError(404, "Item not found")
    return item


def as_json(item: Item) -> dict[str, Any]:
    return ItemRead.model_validate(item).model_dump(mode="json")


@bp.post("", responses={201: ItemRead})
def create_item(body: ItemCreate) -> tuple[dict[str, Any], int]:
    item = new_item(body)
    db.session.add(item)
    db.session.commit()
    return as_json(item), 201


@bp.get("", responses={200: ItemPage})
def list_items(query: Pagination) -> dict[str, Any]:
    """Newest first."""
    conditions = visible_items()
    total = db.session.execute(
        select(func.count()).select_from(Item).where(*conditions)
    ).scalar_one()
    items = db.session.execute(
        select(Item)
        .where(*conditions)
        .order_by(Item.created_at.desc(), Item.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    ).scalars()
    page = ItemPage(
        items=list(map(ItemRead.model_validate, items)), total=total, **query.model_dump()
    )
    return page.model_dump(mode="json")


@bp.get("/<item_id>", responses={200: ItemRead})
def get_item(path: ItemPath) -> dict[str, Any]:
    return as_json(find_item(path.item_id))


@bp.patch("/<item_id>", responses={200: ItemRead})
def update_item(path: ItemPath, body: ItemUpdate) -> dict[str, Any]:
    item = find_item(path.item_id, changing=True)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    db.session.commit()
    return as_json(item)


@bp.delete("/<item_id>", responses={204: None})
def delete_item(path: ItemPath) -> tuple[str, int]:
    db.session.delete(find_item(path.item_id, changing=True))
    db.session.commit()
    return "", 204
