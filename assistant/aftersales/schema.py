"""Tables of the after-sales tickets: tickets, their status history, their photos, id counters.

Guarantees live as constraints so they hold whichever app instance writes: one open ticket per
order (``open_order_id`` is the order id while the ticket is open and NULL after, and NULLs never
clash), ticket ids unique, a photo stored once per ticket. Table names carry an ``aftersales_``
prefix so they share the commerce database with the order store.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from assistant.commerce.sql_schema import UtcDateTime

metadata = MetaData()


def _ticket_row() -> tuple[Column, Column]:
    """The id and ticket key of a row that belongs to a ticket (history, photos)."""
    return (
        Column("id", Integer(), primary_key=True, autoincrement=True),
        Column(
            "ticket_id",
            String(32),
            ForeignKey("aftersales_tickets.ticket_id", ondelete="CASCADE"),
            nullable=False,
        ),
    )


tickets = Table(
    "aftersales_tickets",
    metadata,
    Column("ticket_id", String(32), primary_key=True),
    Column("order_id", String(64), nullable=False),
    # Set while the ticket is open: the unique key allows one open ticket per order.
    Column("open_order_id", String(64), unique=True),
    Column("person", String(256), nullable=False),  # platform:user_id
    Column("conversation_id", String(512), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_aftersales_tickets_person", "person", "created_at"),
    Index("ix_aftersales_tickets_status", "status", "created_at"),
)

history = Table(
    "aftersales_ticket_history",
    metadata,
    *_ticket_row(),
    Column("status", String(16), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("note", Text(), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_aftersales_history_ticket", "ticket_id", "id"),
)

photos = Table(
    "aftersales_ticket_photos",
    metadata,
    *_ticket_row(),
    Column("sha256", String(64), nullable=False),
    Column("content_type", String(32), nullable=False),
    Column("size", Integer(), nullable=False),
    # Relative to the tickets folder (``<ticket id>/<file>``), so the data dir can move.
    Column("path", String(256), nullable=False),
    Column("source", String(32), nullable=False),  # the platform it came from
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("ticket_id", "sha256", name="uq_aftersales_photo_once"),
)

# The last sequence number handed out per China-time day: ids are SH<yyyymmdd><nnn>.
counters = Table(
    "aftersales_ticket_counters",
    metadata,
    Column("day", String(8), primary_key=True),
    Column("last", Integer(), nullable=False),
)
