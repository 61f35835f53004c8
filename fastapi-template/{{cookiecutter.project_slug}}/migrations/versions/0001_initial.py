"""Create the {% if cookiecutter.use_auth %}users and {% endif %}items tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
{%- if cookiecutter.database == 'mysql' %}
from sqlalchemy.dialects import mysql
{%- endif %}

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

{% if cookiecutter.database == 'mysql' -%}
# Microsecond precision on MySQL, like the models' UTCDateTime.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql")
{%- else -%}
TIMESTAMP = sa.DateTime(timezone=True)
{%- endif %}


def upgrade() -> None:
{%- if cookiecutter.use_auth %}
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("hashed_password", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
{%- if cookiecutter.database == "sqlite" %}
        # Ids never reused on SQLite (db/models/user.py and item.py say why).
        sqlite_autoincrement=True,
{%- endif %}
    )
{%- endif %}
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
{%- if cookiecutter.use_auth %}
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_items_owner_id_users"),
            ondelete="CASCADE",
        ),
{%- endif %}
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
{%- if cookiecutter.database == "sqlite" %}
        sqlite_autoincrement=True,
{%- endif %}
    )
    op.create_index("ix_items_created_at_id", "items", ["created_at", "id"])
{%- if cookiecutter.use_auth %}
    op.create_index(op.f("ix_items_owner_id"), "items", ["owner_id"])
{%- endif %}


def downgrade() -> None:
    # Dropping a table drops its indexes (some databases refuse to drop one a foreign key needs).
    op.drop_table("items")
{%- if cookiecutter.use_auth %}
    op.drop_table("users")
{%- endif %}
