"""``ShopperActivityStore`` over SQL: when a shopper was first and last seen, and paid orders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from assistant.commerce import promotions_schema as t
from assistant.commerce.lifecycle import ShopperActivity
from assistant.commerce.models import as_utc
from assistant.commerce.sql_engine import SqlDatabase, insert_if_absent


class SqlShopperActivity:
    """Shopper activity in ``promo_shopper_activity`` and ``promo_paid_orders`` of ``database``.

    Reports may arrive late or twice (platform retries, order-system syncs): first-seen only ever
    moves back, last-active only forward, and a paid order counts once by its id.
    """

    def __init__(self, database: SqlDatabase) -> None:
        self._db = database

    def record_activity(self, shopper_id: str, now: datetime) -> None:
        """The shopper was active at ``now``."""
        now = as_utc(now, "now")
        a = t.shopper_activity.c
        with self._db.write() as conn:
            inserted = insert_if_absent(
                conn,
                t.shopper_activity,
                {"shopper_id": shopper_id, "first_seen": now, "last_active": now},
            )
            if inserted:
                return
            # Conditional, so an older report arriving late cannot move the dates the wrong way.
            conn.execute(
                update(t.shopper_activity)
                .where(a.shopper_id == shopper_id)
                .where(a.last_active < now)
                .values(last_active=now)
            )
            conn.execute(
                update(t.shopper_activity)
                .where(a.shopper_id == shopper_id)
                .where(a.first_seen > now)
                .values(first_seen=now)
            )

    def record_paid_order(self, shopper_id: str, order_id: str, paid_at: datetime) -> None:
        """Count the order once; paying is activity too."""
        paid_at = as_utc(paid_at, "paid_at")
        with self._db.write() as conn:
            insert_if_absent(
                conn,
                t.paid_orders,
                {"order_id": order_id, "shopper_id": shopper_id, "paid_at": paid_at},
            )
        self.record_activity(shopper_id, paid_at)

    def activity_of(self, shopper_id: str) -> ShopperActivity | None:
        """What is known about the shopper, or None for one never seen."""
        with self._db.read() as conn:
            seen = conn.execute(
                select(t.shopper_activity).where(t.shopper_activity.c.shopper_id == shopper_id)
            ).first()
            orders = conn.execute(
                select(func.count(), func.max(t.paid_orders.c.paid_at)).where(
                    t.paid_orders.c.shopper_id == shopper_id
                )
            ).one()
        if seen is None:
            return None
        return ShopperActivity(
            shopper_id=shopper_id,
            first_seen=seen.first_seen,
            last_active=seen.last_active,
            paid_orders=int(orders[0]),
            last_order_at=orders[1],  # max() keeps the column type, so it is aware UTC
        )
