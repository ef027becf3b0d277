"""Orders and the hand-off queue over SQLAlchemy: SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, Final

from sqlalchemy import (
    delete,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import text as sql_text  # ``text`` is a handoff field name here

from assistant.commerce import sql_schema as t
from assistant.commerce.models import HandoffRequest, LogisticsEvent, Order, OrderItem
from assistant.commerce.sql_engine import SqlDatabase
from assistant.language import Language

# Bulk deletes go in slices so no statement exceeds a driver's bound-parameter limit.
_ID_CHUNK: Final = 500
# PostgreSQL advisory lock keys (arbitrary constants, "siyu" + a number) serialising rare writes.
_ORDER_WRITE_LOCK: Final = 0x73697975_0002


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SqlCommerce:
    """``OrderStore`` and ``HandoffStore`` over one SQLAlchemy engine.

    ``url`` is a SQLAlchemy URL: ``sqlite:///.var/commerce.db`` (the parent folder is created)
    or ``postgresql+psycopg://user@host/db``. ``schema`` puts the tables in a PostgreSQL schema
    (created if missing). Tables are created on first use. Every call is its own short
    transaction, and one instance may be shared by threads.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._clock = clock
        self._db = SqlDatabase(url, [t.metadata], schema=schema)
        self._is_postgres = self._db.is_postgres

    # -- OrderStore ---------------------------------------------------------------------------

    def get_order(self, order_id: str) -> Order | None:
        """Return the order with exactly this id, with its items and events, or None."""
        with self._read() as conn:
            row = conn.execute(select(t.orders).where(t.orders.c.order_id == order_id)).first()
            if row is None:
                return None
            items = conn.execute(
                select(t.order_items)
                .where(t.order_items.c.order_id == order_id)
                .order_by(t.order_items.c.position)
            ).all()
            events = conn.execute(
                select(t.logistics_events)
                .where(t.logistics_events.c.order_id == order_id)
                .order_by(t.logistics_events.c.position)
            ).all()
        return _order_from_rows(row._mapping, items, events)

    def add_orders(self, orders: Iterable[Order]) -> None:
        """Store orders in one transaction; an existing order with the same id is replaced."""
        batch = list({order.order_id: order for order in orders}.values())
        if not batch:
            return
        ids = [order.order_id for order in batch]
        with self._write() as conn:
            if self._is_postgres:
                # Replacing is delete-then-insert; two syncs doing it to the same order at once
                # would collide or deadlock. Order writes are rare, so they simply take turns
                # (SQLite gets the same from BEGIN IMMEDIATE). Readers are not blocked.
                conn.execute(
                    sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ORDER_WRITE_LOCK}
                )
            for start in range(0, len(ids), _ID_CHUNK):
                chunk = ids[start : start + _ID_CHUNK]
                for table in (t.order_items, t.logistics_events, t.orders):
                    conn.execute(delete(table).where(table.c.order_id.in_(chunk)))
            conn.execute(t.orders.insert(), [_order_row(order) for order in batch])
            items = [
                _item_row(o.order_id, n, item) for o in batch for n, item in enumerate(o.items)
            ]
            if items:
                conn.execute(t.order_items.insert(), items)
            events = [_event_row(o.order_id, n, e) for o in batch for n, e in enumerate(o.events)]
            if events:
                conn.execute(t.logistics_events.insert(), events)

    def order_ids(self, *, status: str | None = None, limit: int = 10) -> list[str]:
        """Ids of the most recent orders (optionally of one status), newest first."""
        query = select(t.orders.c.order_id).order_by(t.orders.c.order_id.desc()).limit(limit)
        if status is not None:
            query = query.where(t.orders.c.status == status)
        with self._read() as conn:
            return [row[0] for row in conn.execute(query)]

    def count_orders(self) -> int:
        """How many orders are stored."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(t.orders)).scalar_one())

    # -- HandoffStore -------------------------------------------------------------------------

    def request_handoff(
        self, conversation_id: str, *, reason: str, language: Language, text: str
    ) -> HandoffRequest:
        """Queue this conversation for staff, or return its request that is already waiting."""
        existing = self._open_handoff_for(conversation_id)
        if existing is not None:
            return existing
        created_at = self._clock()
        try:
            with self._write() as conn:
                result = conn.execute(
                    t.handoff_requests.insert().values(
                        conversation_id=conversation_id,
                        language=language,
                        reason=reason,
                        text=text,
                        created_at=created_at,
                        status="open",
                    )
                )
                new_id = result.inserted_primary_key[0]
        except IntegrityError:
            # Another instance queued the same conversation between our read and our insert.
            existing = self._open_handoff_for(conversation_id)
            if existing is None:
                raise
            return existing
        return HandoffRequest(
            id=int(new_id),
            conversation_id=conversation_id,
            language=language,
            reason=reason,
            text=text,
            created_at=created_at,
            status="open",
        )

    def open_handoffs(self) -> list[HandoffRequest]:
        """Requests still waiting for staff, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(t.handoff_requests)
                .where(t.handoff_requests.c.status == "open")
                .order_by(t.handoff_requests.c.created_at, t.handoff_requests.c.id)
            ).all()
        return [_handoff_from_row(row._mapping) for row in rows]

    def close_handoff(self, handoff_id: int) -> bool:
        """Mark a request as taken care of; False if it was not open. The shopper may ask again."""
        with self._write() as conn:
            result = conn.execute(
                update(t.handoff_requests)
                .where(t.handoff_requests.c.id == handoff_id)
                .where(t.handoff_requests.c.status == "open")
                .values(status="closed")
            )
            return result.rowcount > 0

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close pooled connections; the store can still be used afterwards and reconnects."""
        self._db.close()

    def _open_handoff_for(self, conversation_id: str) -> HandoffRequest | None:
        with self._read() as conn:
            row = conn.execute(
                select(t.handoff_requests)
                .where(t.handoff_requests.c.conversation_id == conversation_id)
                .where(t.handoff_requests.c.status == "open")
            ).first()
        return None if row is None else _handoff_from_row(row._mapping)

    def _read(self) -> Any:
        return self._db.read()

    def _write(self) -> Any:
        return self._db.write()


def _order_row(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "status": order.status,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "shipped_at": order.shipped_at,
        "delivered_at": order.delivered_at,
        "courier": order.courier,
        "tracking_no": order.tracking_no,
        "total": order.total,
        "phone": order.phone,
        "opened": order.opened,
    }


def _item_row(order_id: str, position: int, item: OrderItem) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "position": position,
        "product_id": item.product_id,
        "name_zh": item.name_zh,
        "name_en": item.name_en,
        "quantity": item.quantity,
        "unit_price": item.unit_price,
    }


def _event_row(order_id: str, position: int, logistics: LogisticsEvent) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "position": position,
        "time": logistics.time,
        "status": logistics.status,
        "description_zh": logistics.description_zh,
        "description_en": logistics.description_en,
        "location": logistics.location,
    }


def _order_from_rows(row: Any, items: Sequence[Any], events: Sequence[Any]) -> Order:
    return Order(
        order_id=row["order_id"],
        status=row["status"],
        created_at=row["created_at"],
        paid_at=row["paid_at"],
        shipped_at=row["shipped_at"],
        delivered_at=row["delivered_at"],
        courier=row["courier"],
        tracking_no=row["tracking_no"],
        items=tuple(
            OrderItem(
                product_id=i.product_id,
                name_zh=i.name_zh,
                name_en=i.name_en,
                quantity=i.quantity,
                unit_price=i.unit_price,
            )
            for i in items
        ),
        events=tuple(
            LogisticsEvent(
                time=e.time,
                status=e.status,
                description_zh=e.description_zh,
                description_en=e.description_en,
                location=e.location,
            )
            for e in events
        ),
        total=row["total"],
        phone=row["phone"],
        opened=bool(row["opened"]),
    )


def _handoff_from_row(row: Any) -> HandoffRequest:
    return HandoffRequest(
        id=int(row["id"]),
        conversation_id=row["conversation_id"],
        language=row["language"],
        reason=row["reason"],
        text=row["text"],
        created_at=row["created_at"],
        status=row["status"],
    )
