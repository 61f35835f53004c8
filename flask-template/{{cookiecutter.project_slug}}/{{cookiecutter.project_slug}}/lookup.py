"""One row by its id{% if cookiecutter.use_auth %}, among the current user's,{% endif %} or 404: the lookup every
resource's routes share."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select

from .errors import APIError
from .extensions import Base, db
{%- if cookiecutter.use_auth %}
from .security import current_user, current_user_id
{%- endif %}

Row = TypeVar("Row", bound=Base)


@cache
def by_id(model: type[Base], lock: bool) -> Select[Any]:
    """The statement, built once per model and run with parameters: building one per request
    costs more CPU than running a small one."""
    columns = model.__table__.c
{%- if cookiecutter.use_auth %}
    # Someone else's row answers like a missing one: its existence is not the caller's business.
    query = select(model).where(
        columns.id == bindparam("row_id"), columns.owner_id == bindparam("owner_id")
    )
{%- else %}
    query = select(model).where(columns.id == bindparam("row_id"))
{%- endif %}
    return query.with_for_update() if lock else query


def find_or_404(model: type[Row], row_id: int, *, lock: bool = False) -> Row:
    """The ``model`` row with id ``row_id``{% if cookiecutter.use_auth %} if the current user owns it{% endif %},
    or 404 "<Model> not found".

    ``lock=True`` for a row about to be changed or deleted: it is locked as it is read (FOR
    UPDATE), so two requests racing on it are served one after the other, and the second sees
    the first's result (a deleted row is a 404) instead of failing on a row that vanished.
{%- if cookiecutter.use_auth %}

    A row found by its owner's id proves that the owner still exists (rows go with their
    owner, ON DELETE CASCADE): only a miss asks whether the user is gone (401).
{%- endif %}

    404 or 422: flask-openapi3 validates a view's path, query and body before it calls the
    view, so a bad request is a 422 whether or not the row exists, wherever this is called.
    """
    params = {"row_id": row_id{% if cookiecutter.use_auth %}, "owner_id": current_user_id(){% endif %}}
    row: Row | None = db.session.execute(by_id(model, lock), params).scalar_one_or_none()
    if row is None:
{%- if cookiecutter.use_auth %}
        current_user()
{%- endif %}
        raise APIError(404, f"{model.__name__} not found")
    return row
