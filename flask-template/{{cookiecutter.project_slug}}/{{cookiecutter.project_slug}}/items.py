"""/api/v1/items: create, list, read, change and delete items."""

from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy import ColumnElement, func, select

from . import validation
from .errors import APIError
from .extensions import db
from .models import Item
from .responses import json_response
from .schemas import ItemCreate, ItemOut, ItemPage, ItemPath, ItemUpdate, Pagination
{%- if cookiecutter.use_auth %}
from .security import current_user
{%- endif %}

bp = Blueprint("items", __name__, url_prefix="/api/v1/items")


def visible_items() -> list[ColumnElement[bool]]:
{%- if cookiecutter.use_auth %}
    """Each user sees only their own items (and needs a token to see any)."""
    return [Item.owner_id == current_user().id]
{%- else %}
    """Without auth every item is visible to everyone."""
    return []
{%- endif %}


def parse_id(raw_id: str) -> int:
    return validation.path(ItemPath, item_id=raw_id).item_id


def find_item(item_id: int, conditions: list[ColumnElement[bool]]) -> Item:
    item = db.session.execute(select(Item).where(Item.id == item_id, *conditions)).scalar_one_or_none()
    if item is None:
        raise APIError(404, "Item not found")
    return item


@bp.post("")
def create_item() -> Response:
    payload = validation.read_json()
{%- if cookiecutter.use_auth %}
    owner = current_user()
{%- endif %}
    data = validation.body(ItemCreate, payload)
    item = Item(name=data.name, description=data.description{% if cookiecutter.use_auth %}, owner_id=owner.id{% endif %})
    db.session.add(item)
    db.session.commit()
    return json_response(ItemOut.model_validate(item), 201)


@bp.get("")
def list_items() -> Response:
    conditions = visible_items()
    page = validation.query(Pagination)
    total = db.session.execute(select(func.count()).select_from(Item).where(*conditions)).scalar_one()
    items = db.session.execute(
        select(Item)
        .where(*conditions)
        .order_by(Item.created_at.desc(), Item.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    ).scalars()
    return json_response(
        ItemPage(
            items=[ItemOut.model_validate(item) for item in items],
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


@bp.get("/<item_id>")
def get_item(item_id: str) -> Response:
    conditions = visible_items()
    return json_response(ItemOut.model_validate(find_item(parse_id(item_id), conditions)))


@bp.patch("/<item_id>")
def update_item(item_id: str) -> Response:
    payload = validation.read_json()
    conditions = visible_items()
    key, data = validation.path_and_body(ItemPath, {"item_id": item_id}, ItemUpdate, payload)
    changes = data.model_dump(exclude_unset=True)
    item = find_item(key.item_id, conditions)
    for field, value in changes.items():
        setattr(item, field, value)
    db.session.commit()
    return json_response(ItemOut.model_validate(item))


@bp.delete("/<item_id>")
def delete_item(item_id: str) -> Response:
    conditions = visible_items()
    item = find_item(parse_id(item_id), conditions)
    db.session.delete(item)
    db.session.commit()
    return Response(status=204)
