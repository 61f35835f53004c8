"""/api/v1/items: create, list, read, change and delete items."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import bindparam, func, select{% if not cookiecutter.use_auth %}, true{% endif %}
from sqlalchemy.exc import IntegrityError
{% if not cookiecutter.use_auth %}
from .errors import ERROR_RESPONSES
{%- endif %}
from .extensions import db
from .lookup import find_or_404
from .models import Item
from .schemas import ItemCreate, ItemPage, ItemPath, ItemRead, ItemUpdate, Pagination
{%- if cookiecutter.use_auth %}
from .security import (
    BEARER_SECURITY,
    SIGNED_IN_RESPONSES,
    authenticate,
    current_user,
    current_user_id,
)

bp = APIBlueprint(
    "items",
    __name__,
    url_prefix="/api/v1/items",
    abp_tags=[Tag(name="items")],
    abp_security=BEARER_SECURITY,
    abp_responses=SIGNED_IN_RESPONSES,
)
bp.before_request(authenticate)

# Each user sees only their own items.
VISIBLE = Item.owner_id == bindparam("owner_id")


def visibility() -> dict[str, Any]:
    """The parameters of VISIBLE for this request."""
    return {"owner_id": current_user_id()}


def new_item(data: ItemCreate) -> Item:
    return Item(**data.model_dump(), owner_id=current_user_id())


def check_owner() -> None:
    """401 if the token's user no longer exists. Only needed where no item was found: an
    item's owner_id refers to users.id and goes with it (models.py), so an item found
    proves its owner exists, without a query of the user."""
    current_user()
{%- else %}

bp = APIBlueprint(
    "items",
    __name__,
    url_prefix="/api/v1/items",
    abp_tags=[Tag(name="items")],
    abp_responses=ERROR_RESPONSES,
)

# Without auth every item is visible to everyone.
VISIBLE = true()


def visibility() -> dict[str, Any]:
    return {}


def new_item(data: ItemCreate) -> Item:
    return Item(**data.model_dump())


def check_owner() -> None:
    """Without auth items have no owner."""
{%- endif %}


# Built once and run with parameters: building a statement per request costs more CPU
# than running a small one.
COUNT = select(func.count()).select_from(Item).where(VISIBLE)
# The page and the total in one statement.
PAGE = (
    select(Item, COUNT.scalar_subquery())
    .where(VISIBLE)
    .order_by(Item.created_at.desc(), Item.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


def as_json(item: Item) -> dict[str, Any]:
    return ItemRead.model_validate(item).model_dump(mode="json")


@bp.post("", responses={201: ItemRead})
def create_item(body: ItemCreate) -> tuple[dict[str, Any], int]:
    item = new_item(body)
    db.session.add(item)
    try:
        db.session.commit()
    except IntegrityError:  # with auth, the one a valid body can break: an owner gone since
        db.session.rollback()
        check_owner()
        raise
    return as_json(item), 201


@bp.get("", responses={200: ItemPage})
def list_items(query: Pagination) -> dict[str, Any]:
    """Newest first."""
    rows = db.session.execute(PAGE, {**query.model_dump(), **visibility()}).all()
    # An offset past the end finds no row to carry the total.
    total = rows[0][1] if rows else db.session.execute(COUNT, visibility()).scalar_one()
    if total == 0:
        check_owner()
    page = ItemPage(
        items=[ItemRead.model_validate(item) for item, _ in rows], total=total, **query.model_dump()
    )
    return page.model_dump(mode="json")


@bp.get("/<item_id>", responses={200: ItemRead})
def get_item(path: ItemPath) -> dict[str, Any]:
    return as_json(find_or_404(Item, path.item_id))


@bp.patch("/<item_id>", responses={200: ItemRead})
def update_item(path: ItemPath, body: ItemUpdate) -> dict[str, Any]:
    item = find_or_404(Item, path.item_id, lock=True)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    db.session.commit()
    return as_json(item)


@bp.delete("/<item_id>", responses={204: None})
def delete_item(path: ItemPath) -> tuple[str, int]:
    db.session.delete(find_or_404(Item, path.item_id, lock=True))
    db.session.commit()
    return "", 204
