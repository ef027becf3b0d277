"""``CouponService`` over SQL: the database, not Python, guarantees stock and per-shopper limits.

A claim is one transaction: a conditional ``UPDATE ... SET remaining = remaining - 1 WHERE
remaining > 0`` takes one unit of stock (on PostgreSQL it locks the campaign row, so claims of one
campaign queue there and each re-checks the newest stock), then the coupon row is inserted as the
shopper's n-th coupon of the campaign, where ``(campaign, shopper, n)`` is unique and
``n <= per_shopper_limit``. If two claims of one shopper race for the same n, the loser's insert
fails, its whole transaction (stock unit included) rolls back, and it retries and sees the
winner's coupon. SQLite runs writers one at a time (``BEGIN IMMEDIATE``), which gives the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from assistant.commerce import promotions_schema as t
from assistant.commerce.coupons import (
    CampaignStock,
    ClaimRefusal,
    ClaimResult,
    Coupon,
    CouponCampaign,
    RedeemResult,
    RedeemStatus,
)
from assistant.commerce.models import as_money, as_utc
from assistant.commerce.promo_codes import normalize_code, random_code
from assistant.commerce.sql_engine import SqlDatabase

# A lost race (same shopper, same n) or a code collision costs one retry; more than a few in a
# row means something else is wrong, and the error is better raised than hidden.
_CLAIM_ATTEMPTS: Final = 5


class _Refused(Exception):
    """Leaves a claim's transaction by rolling it back, carrying the answer out."""

    def __init__(self, result: ClaimResult) -> None:
        super().__init__(result.refusal)
        self.result = result


class SqlCoupons:
    """Coupon campaigns and claimed coupons in the ``promo_coupon*`` tables of ``database``."""

    def __init__(self, database: SqlDatabase, *, new_code: Callable[[], str] = random_code) -> None:
        self._db = database
        self._new_code = new_code

    def save_campaign(self, campaign: CouponCampaign) -> CampaignStock:
        """Create or change a campaign; changing ``total_stock`` keeps the issued count."""
        values = _campaign_values(campaign)
        with self._db.write() as conn:
            row = conn.execute(
                select(t.coupon_campaigns.c.total_stock, t.coupon_campaigns.c.remaining)
                .where(t.coupon_campaigns.c.campaign_id == campaign.campaign_id)
                .with_for_update()
            ).first()
            if row is None:
                conn.execute(
                    t.coupon_campaigns.insert().values(**values, remaining=campaign.total_stock)
                )
                return CampaignStock(
                    campaign.campaign_id, campaign.total_stock, 0, campaign.total_stock
                )
            issued = row.total_stock - row.remaining
            if campaign.total_stock < issued:
                raise ValueError(
                    f"total_stock of {campaign.campaign_id} cannot go below the {issued} "
                    "coupons already claimed"
                )
            remaining = campaign.total_stock - issued
            conn.execute(
                update(t.coupon_campaigns)
                .where(t.coupon_campaigns.c.campaign_id == campaign.campaign_id)
                .values(**values, remaining=remaining)
            )
            return CampaignStock(campaign.campaign_id, campaign.total_stock, issued, remaining)

    def get_campaign(self, campaign_id: str) -> CouponCampaign | None:
        """The campaign with this id, or None."""
        with self._db.read() as conn:
            row = _campaign_row(conn, campaign_id)
        return None if row is None else _campaign_from_row(row)

    def stock(self, campaign_id: str) -> CampaignStock | None:
        """Issued and remaining coupons of a campaign, or None if there is no such campaign."""
        with self._db.read() as conn:
            row = _campaign_row(conn, campaign_id)
        if row is None:
            return None
        return CampaignStock(
            campaign_id, row.total_stock, row.total_stock - row.remaining, row.remaining
        )

    def claim(self, campaign_id: str, shopper_id: str, now: datetime) -> ClaimResult:
        """Give the shopper a coupon of the campaign, or say why not (see the module docstring)."""
        now = as_utc(now, "now")
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                return self._try_claim(campaign_id, shopper_id, now)
            except _Refused as refused:
                return refused.result
            except IntegrityError:
                # Lost a race for (campaign, shopper, n), or drew a code already in use: the
                # transaction rolled back whole, stock included; look again.
                continue
        raise RuntimeError(f"could not claim {campaign_id} for a shopper after retries")

    def coupons_of(self, shopper_id: str) -> list[Coupon]:
        """Every coupon the shopper holds, newest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                _coupon_query()
                .where(t.coupons.c.shopper_id == shopper_id)
                .order_by(t.coupons.c.claimed_at.desc(), t.coupons.c.seq.desc())
            ).all()
        return [_coupon_from_row(row) for row in rows]

    def redeem(
        self, code: str, shopper_id: str, *, order_id: str, order_total: Decimal, now: datetime
    ) -> RedeemResult:
        """Use the shopper's coupon on an order once; the same order again is a safe retry."""
        now = as_utc(now, "now")
        code = normalize_code(code)
        order_total = as_money(order_total, "order_total")
        with self._db.write() as conn:
            coupon = self._coupon(conn, code)
            if coupon is None or coupon.shopper_id != shopper_id:
                return RedeemResult(RedeemStatus.UNKNOWN_COUPON)
            if coupon.redeemed_at is not None:
                same = coupon.order_id == order_id
                return RedeemResult(
                    RedeemStatus.REDEEMED if same else RedeemStatus.ALREADY_REDEEMED, coupon
                )
            if now >= coupon.expires_at:
                return RedeemResult(RedeemStatus.EXPIRED, coupon)
            if order_total < coupon.min_spend:
                return RedeemResult(RedeemStatus.BELOW_MIN_SPEND, coupon)
            # Conditional on "not used yet", so two checkouts racing with one coupon use it once.
            used = conn.execute(
                update(t.coupons)
                .where(t.coupons.c.code == code)
                .where(t.coupons.c.redeemed_at.is_(None))
                .values(redeemed_at=now, order_id=order_id)
            ).rowcount
            fresh = self._coupon(conn, code)
        assert fresh is not None
        if used == 1 or fresh.order_id == order_id:
            return RedeemResult(RedeemStatus.REDEEMED, fresh)
        return RedeemResult(RedeemStatus.ALREADY_REDEEMED, fresh)

    def _try_claim(self, campaign_id: str, shopper_id: str, now: datetime) -> ClaimResult:
        with self._db.write() as conn:
            row = _campaign_row(conn, campaign_id)
            if row is None:
                return ClaimResult(refusal=ClaimRefusal.UNKNOWN_CAMPAIGN)
            campaign = _campaign_from_row(row)
            if now < campaign.starts_at:
                return ClaimResult(refusal=ClaimRefusal.NOT_STARTED)
            if campaign.ends_at is not None and now >= campaign.ends_at:
                return ClaimResult(refusal=ClaimRefusal.ENDED)
            held = self._held(conn, campaign_id, shopper_id)
            if len(held) >= campaign.per_shopper_limit:
                return ClaimResult(refusal=ClaimRefusal.ALREADY_CLAIMED, held=held)
            taken = conn.execute(
                update(t.coupon_campaigns)
                .where(t.coupon_campaigns.c.campaign_id == campaign_id)
                .where(t.coupon_campaigns.c.remaining > 0)
                .values(remaining=t.coupon_campaigns.c.remaining - 1)
            ).rowcount
            if taken != 1:
                return ClaimResult(refusal=ClaimRefusal.OUT_OF_STOCK)
            # Holding the campaign row lock now (PostgreSQL), so a claim that committed while we
            # waited is visible to this fresh READ COMMITTED statement.
            held = self._held(conn, campaign_id, shopper_id)
            if len(held) >= campaign.per_shopper_limit:
                # Raising rolls the transaction back, which gives the stock unit back.
                raise _Refused(ClaimResult(refusal=ClaimRefusal.ALREADY_CLAIMED, held=held))
            coupon = Coupon(
                code=self._new_code(),
                campaign_id=campaign_id,
                shopper_id=shopper_id,
                title_zh=campaign.title_zh,
                title_en=campaign.title_en,
                amount=campaign.amount,
                min_spend=campaign.min_spend,
                claimed_at=now,
                expires_at=campaign.coupon_expiry(now),
            )
            conn.execute(
                t.coupons.insert().values(
                    code=coupon.code,
                    campaign_id=campaign_id,
                    shopper_id=shopper_id,
                    seq=len(held) + 1,
                    claimed_at=now,
                    expires_at=coupon.expires_at,
                )
            )
        return ClaimResult(coupon=coupon)

    def _held(self, conn: Connection, campaign_id: str, shopper_id: str) -> tuple[Coupon, ...]:
        rows = conn.execute(
            _coupon_query()
            .where(t.coupons.c.campaign_id == campaign_id)
            .where(t.coupons.c.shopper_id == shopper_id)
            .order_by(t.coupons.c.seq)
        ).all()
        return tuple(_coupon_from_row(row) for row in rows)

    def _coupon(self, conn: Connection, code: str) -> Coupon | None:
        row = conn.execute(_coupon_query().where(t.coupons.c.code == code)).first()
        return None if row is None else _coupon_from_row(row)


def _campaign_row(conn: Connection, campaign_id: str) -> Any:
    return conn.execute(
        select(t.coupon_campaigns).where(t.coupon_campaigns.c.campaign_id == campaign_id)
    ).first()


def _campaign_values(campaign: CouponCampaign) -> dict[str, Any]:
    return {
        "campaign_id": campaign.campaign_id,
        "title_zh": campaign.title_zh,
        "title_en": campaign.title_en,
        "total_stock": campaign.total_stock,
        "per_shopper_limit": campaign.per_shopper_limit,
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
        "valid_days": campaign.valid_days,
        "min_spend": campaign.min_spend,
        "amount": campaign.amount,
    }


def _campaign_from_row(row: Any) -> CouponCampaign:
    return CouponCampaign(
        campaign_id=row.campaign_id,
        title_zh=row.title_zh,
        title_en=row.title_en,
        total_stock=row.total_stock,
        amount=row.amount,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        valid_days=row.valid_days,
        min_spend=row.min_spend,
        per_shopper_limit=row.per_shopper_limit,
    )


def _coupon_query() -> Any:
    c, k = t.coupons.c, t.coupon_campaigns.c
    return select(
        c.code,
        c.campaign_id,
        c.shopper_id,
        c.seq,
        c.claimed_at,
        c.expires_at,
        c.redeemed_at,
        c.order_id,
        k.title_zh,
        k.title_en,
        k.amount,
        k.min_spend,
    ).join_from(t.coupons, t.coupon_campaigns, c.campaign_id == k.campaign_id)


def _coupon_from_row(row: Any) -> Coupon:
    return Coupon(
        code=row.code,
        campaign_id=row.campaign_id,
        shopper_id=row.shopper_id,
        title_zh=row.title_zh,
        title_en=row.title_en,
        amount=row.amount,
        min_spend=row.min_spend,
        claimed_at=row.claimed_at,
        expires_at=row.expires_at,
        redeemed_at=row.redeemed_at,
        order_id=row.order_id,
    )
