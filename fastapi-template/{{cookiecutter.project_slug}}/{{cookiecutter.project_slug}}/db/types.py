"""Column types shared by the models."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
{%- if cookiecutter.database == 'mysql' %}
from sqlalchemy.dialects import mysql
{%- endif %}
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

# The id columns are 32-bit integers: a larger id can name no row, and some drivers fail on it.
MAX_ID = 2_147_483_647


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, also on databases that drop the offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
{%- if cookiecutter.database == 'mysql' %}
        if dialect.name == "mysql":
            # Plain DATETIME drops microseconds, which breaks newest-first ordering.
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
{%- endif %}
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
{%- if cookiecutter.database == 'postgresql' %}
        return value.astimezone(UTC)
{%- else %}
        # The column keeps no offset: store naive UTC.
        return value.astimezone(UTC).replace(tzinfo=None)
{%- endif %}

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
