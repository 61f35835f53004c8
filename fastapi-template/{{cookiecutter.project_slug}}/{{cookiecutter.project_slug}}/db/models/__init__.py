"""Every model, imported here so `Base.metadata` knows all tables (Alembic reads it)."""

from {{ cookiecutter.project_slug }}.db.base import Base
from {{ cookiecutter.project_slug }}.db.models.item import Item
{%- if cookiecutter.use_worker %}
from {{ cookiecutter.project_slug }}.db.models.outbox import OutboxMessage
{%- endif %}
{%- if cookiecutter.use_auth %}
from {{ cookiecutter.project_slug }}.db.models.user import User
{%- endif %}

__all__ = ["Base", "Item"{% if cookiecutter.use_worker %}, "OutboxMessage"{% endif %}{% if cookiecutter.use_auth %}, "User"{% endif %}]
