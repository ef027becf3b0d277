"""Orders and the hand-off queue over SQLAlchemy: SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, Final

from sqlalchemy import (
    delete,
    func,
    inspect,
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
        self._schema = schema
        self._db = SqlDatabase(url, [t.metadata], schema=schema)
        self._is_postgres = self._db.is_postgres
        self._handoff_columns_ready = False

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
        self,
        conversation_id: str,
        *,
        reason: str,
        language: Language,
        text: str,
        platform: str = "",
        chat_id: str = "",
        user_id: str = "",
        user_name: str = "",
        chat_type: str = "group",
    ) -> HandoffRequest:
        """Queue this conversation for staff, or return its request that is already waiting.

        ``platform``, ``chat_id``, ``user_id`` and ``user_name`` say where staff reply.
        """
        existing = self._open_handoff_for(conversation_id)
        if existing is not None:
            return existing
        created_at = self._clock()
        where = {
            "platform": platform,
            "chat_id": chat_id,
            "user_id": user_id,
            "user_name": user_name,
            "chat_type": chat_type,
        }
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
                        **where,
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
            **where,
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

    def recent_closed_handoffs(self, limit: int = 50) -> list[HandoffRequest]:
        """Requests staff closed, most recently closed first."""
        table = t.handoff_requests
        with self._read() as conn:
            rows = conn.execute(
                select(table)
                .where(table.c.status == "closed")
                .order_by(table.c.closed_at.desc(), table.c.id.desc())
                .limit(limit)
            ).all()
        return [_handoff_from_row(row._mapping) for row in rows]

    def get_handoff(self, handoff_id: int) -> HandoffRequest | None:
        """The request with this id, open or closed."""
        with self._read() as conn:
            row = conn.execute(
                select(t.handoff_requests).where(t.handoff_requests.c.id == handoff_id)
            ).first()
        return None if row is None else _handoff_from_row(row._mapping)

    def open_handoff_for(self, conversation_id: str) -> HandoffRequest | None:
        """This conversation's request that is not closed yet, if any."""
        return self._open_handoff_for(conversation_id)

    def claim_handoff(self, handoff_id: int, actor: str) -> bool:
        """``actor`` takes the open request; False if it is closed or someone took it already."""
        return self._step(
            handoff_id,
            t.handoff_requests.c.claimed_at.is_(None),
            claimed_by=actor,
            claimed_at=self._clock(),
        )

    def answer_handoff(self, handoff_id: int, actor: str) -> bool:
        """Record the first staff reply (it also claims an unclaimed request); False if the
        request is closed or was answered before."""
        now = self._clock()
        table = t.handoff_requests
        with self._write() as conn:
            conn.execute(
                update(table)
                .where(table.c.id == handoff_id, table.c.status == "open")
                .where(table.c.claimed_at.is_(None))
                .values(claimed_by=actor, claimed_at=now)
            )
            result = conn.execute(
                update(table)
                .where(table.c.id == handoff_id, table.c.status == "open")
                .where(table.c.answered_at.is_(None))
                .values(answered_by=actor, answered_at=now)
            )
            return result.rowcount > 0

    def escalate_handoff(self, handoff_id: int) -> bool:
        """Mark an open request escalated; False if it was escalated already or is closed, so
        several app instances escalate each request once."""
        return self._step(
            handoff_id,
            t.handoff_requests.c.escalated_at.is_(None),
            escalated_at=self._clock(),
        )

    def close_handoff(self, handoff_id: int, actor: str | None = None) -> bool:
        """Mark a request as taken care of; False if it was not open. The shopper may ask again."""
        return self._step(
            handoff_id, None, status="closed", closed_by=actor, closed_at=self._clock()
        )

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close pooled connections; the store can still be used afterwards and reconnects."""
        self._db.close()

    def _step(self, handoff_id: int, condition: Any, **values: Any) -> bool:
        """One conditional update of an open request: True if this call made the change."""
        table = t.handoff_requests
        query = update(table).where(table.c.id == handoff_id, table.c.status == "open")
        if condition is not None:
            query = query.where(condition)
        with self._write() as conn:
            return conn.execute(query.values(**values)).rowcount > 0

    def _ensure_handoff_columns(self) -> None:
        """Hand-off tables made before the staff console gain its columns (SQLite and PG)."""
        if self._handoff_columns_ready:
            return
        table = t.handoff_requests
        with self._db.write() as conn:
            present = {
                c["name"] for c in inspect(conn).get_columns(table.name, schema=self._schema)
            }
            prefix = f'"{self._schema}".' if self._schema else ""
            for column in table.columns:
                if column.name not in present:
                    kind = column.type.compile(conn.dialect)
                    target = f"{prefix}{table.name}"
                    conn.execute(sql_text(f"ALTER TABLE {target} ADD COLUMN {column.name} {kind}"))
        self._handoff_columns_ready = True

    def _open_handoff_for(self, conversation_id: str) -> HandoffRequest | None:
        with self._read() as conn:
            row = conn.execute(
                select(t.handoff_requests)
                .where(t.handoff_requests.c.conversation_id == conversation_id)
                .where(t.handoff_requests.c.status == "open")
            ).first()
        return None if row is None else _handoff_from_row(row._mapping)

    def _read(self) -> Any:
        self._ensure_handoff_columns()
        return self._db.read()

    def _write(self) -> Any:
        self._ensure_handoff_columns()
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
        platform=row["platform"] or "",
        chat_id=row["chat_id"] or "",
        user_id=row["user_id"] or "",
        user_name=row["user_name"] or "",
        chat_type=row["chat_type"] or "group",
        claimed_by=row["claimed_by"],
        claimed_at=row["claimed_at"],
        answered_by=row["answered_by"],
        answered_at=row["answered_at"],
        closed_by=row["closed_by"],
        closed_at=row["closed_at"],
        escalated_at=row["escalated_at"],
    )
