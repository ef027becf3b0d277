"""All promotion stores over one database: what the app builds from ``database_url``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from assistant.commerce import promotions_schema
from assistant.commerce.activity_sql import SqlShopperActivity
from assistant.commerce.coupons_sql import SqlCoupons
from assistant.commerce.groupbuys_sql import SqlGroupBuys
from assistant.commerce.referrals import RewardResult
from assistant.commerce.referrals_sql import SqlReferrals
from assistant.commerce.sql_engine import SqlDatabase


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SqlPromotions:
    """Coupons, group-buys, referrals and shopper activity sharing one engine and one pool.

    ``url`` and ``schema`` are as for ``SqlCommerce``: a SQLite file by default, PostgreSQL by
    URL, tables created on first use. Each part is a typed service of its own.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.database = SqlDatabase(url, [promotions_schema.metadata], schema=schema)
        self.coupons = SqlCoupons(self.database)
        self.group_buys = SqlGroupBuys(self.database)
        self.referrals = SqlReferrals(self.database, clock=clock)
        self.activity = SqlShopperActivity(self.database)

    def order_paid(self, shopper_id: str, order_id: str, now: datetime) -> RewardResult:
        """Tell every part that needs it that a shopper paid an order (idempotent per order)."""
        self.activity.record_paid_order(shopper_id, order_id, now)
        return self.referrals.order_paid(shopper_id, order_id, now)

    def close(self) -> None:
        """Close pooled connections."""
        self.database.close()
