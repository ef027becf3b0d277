"""Tables and column types of the SQL commerce store, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

from assistant.commerce.models import as_money, as_utc


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, whatever the database keeps.

    SQLite has no time zones, so UTC is stored naive there and the zone is put back on read;
    PostgreSQL gets ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = as_utc(value, "stored time")
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Cents(TypeDecorator[Decimal]):
    """Money as integer fen: exact on every backend, no float and no driver Decimal quirks."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(as_money(value, "stored amount") * 100)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return as_money(Decimal(int(value)) / 100, "stored amount")


# Table names carry a prefix because a brand may point several concerns (Rasa's tracker store
# has a table called ``events``) at the same database.
metadata = MetaData()

orders = Table(
    "commerce_orders",
    metadata,
    Column("order_id", String(32), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("paid_at", UtcDateTime()),
    Column("shipped_at", UtcDateTime()),
    Column("delivered_at", UtcDateTime()),
    Column("courier", String(64)),
    Column("tracking_no", String(64)),
    Column("total", Cents(), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("opened", Boolean(), nullable=False, default=False),
)

order_items = Table(
    "commerce_order_items",
    metadata,
    Column(
        "order_id",
        String(32),
        ForeignKey("commerce_orders.order_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # Position keeps the shopper's line order; SQL rows have no order of their own.
    Column("position", Integer(), primary_key=True),
    Column("product_id", String(128), nullable=False),
    Column("name_zh", Text(), nullable=False),
    Column("name_en", Text(), nullable=False),
    Column("quantity", Integer(), nullable=False),
    Column("unit_price", Cents(), nullable=False),
)

logistics_events = Table(
    "commerce_logistics_events",
    metadata,
    Column(
        "order_id",
        String(32),
        ForeignKey("commerce_orders.order_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer(), primary_key=True),
    Column("time", UtcDateTime(), nullable=False),
    Column("status", String(64), nullable=False),
    Column("description_zh", Text(), nullable=False),
    Column("description_en", Text(), nullable=False),
    Column("location", Text(), nullable=False),
)

handoff_requests = Table(
    "commerce_handoff_requests",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("conversation_id", String(255), nullable=False),
    Column("language", String(8), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("text", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    # Added with the staff console; nullable so tables made before them can gain them in place.
    Column("platform", String(32)),
    Column("chat_id", String(255)),
    Column("user_id", String(255)),
    Column("user_name", String(255)),
    Column("chat_type", String(16)),
    Column("claimed_by", String(128)),
    Column("claimed_at", UtcDateTime()),
    Column("answered_by", String(128)),
    Column("answered_at", UtcDateTime()),
    Column("closed_by", String(128)),
    Column("closed_at", UtcDateTime()),
    Column("escalated_at", UtcDateTime()),
)

# The database, not a check in Python, guarantees one open request per conversation, so two app
# instances answering the same shopper at once cannot queue them twice.
Index(
    "uq_commerce_handoff_open_conversation",
    handoff_requests.c.conversation_id,
    unique=True,
    sqlite_where=handoff_requests.c.status == "open",
    postgresql_where=handoff_requests.c.status == "open",
)
Index("ix_commerce_handoff_status", handoff_requests.c.status, handoff_requests.c.id)
