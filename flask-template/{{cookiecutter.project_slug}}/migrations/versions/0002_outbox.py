"""The outbox of the background jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02 00:00:00
"""

import sqlalchemy as sa
from alembic import op
{%- if cookiecutter.database == "mysql" %}
from sqlalchemy.dialects import mysql
{%- endif %}

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
{% if cookiecutter.database == "mysql" %}
TIMESTAMP = mysql.DATETIME(fsp=6)
{%- else %}
TIMESTAMP = sa.DateTime(timezone=True)
{%- endif %}


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("claimed_until", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_sent_at"), "outbox", ["sent_at"], unique=False)


def downgrade() -> None:
    op.drop_table("outbox")
