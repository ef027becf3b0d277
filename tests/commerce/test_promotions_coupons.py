"""Coupons: shoppers claim within stock and limits, even all at once, and use each coupon once."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from assistant.commerce.coupons import (
    ClaimRefusal,
    CouponCampaign,
    CouponService,
    RedeemStatus,
)
from assistant.commerce.promo_codes import ALPHABET
from assistant.commerce.promotions_sql import SqlPromotions
from tests.commerce.conftest import PromotionsFactory
from tests.commerce.factories import race

NOW = datetime(2025, 11, 18, 2, 0, tzinfo=timezone.utc)


def campaign(**changes: object) -> CouponCampaign:
    base = CouponCampaign(
        campaign_id="DOUBLE11-30",
        title_zh="双11满199减30",
        title_en="Double 11: CNY 30 off 199",
        total_stock=10,
        amount=Decimal("30"),
        min_spend=Decimal("199"),
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=7),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_sql_coupons_implement_the_interface(promotions: SqlPromotions) -> None:
    assert isinstance(promotions.coupons, CouponService)


def test_claim_hands_out_a_readable_code_listed_with_the_shoppers_coupons(
    promotions: SqlPromotions,
) -> None:
    coupons = promotions.coupons
    coupons.save_campaign(campaign())

    result = coupons.claim("DOUBLE11-30", "wecom:g1:alice", NOW)

    assert result.ok and result.refusal is None
    coupon = result.coupon
    assert coupon is not None
    assert len(coupon.code) == 8 and set(coupon.code) <= set(ALPHABET)
    assert (coupon.amount, coupon.min_spend) == (Decimal("30.00"), Decimal("199.00"))
    assert coupon.title("zh") == "双11满199减30"
    assert coupon.expires_at == NOW + timedelta(days=7)
    assert coupon.state(NOW) == "usable"
    assert coupons.coupons_of("wecom:g1:alice") == [coupon]
    assert coupons.coupons_of("wecom:g1:bob") == []
    stock = coupons.stock("DOUBLE11-30")
    assert stock is not None and (stock.issued, stock.remaining) == (1, 9)


def test_claiming_again_is_refused_and_reminds_the_shopper_of_their_code(
    promotions: SqlPromotions,
) -> None:
    coupons = promotions.coupons
    coupons.save_campaign(campaign())
    first = coupons.claim("DOUBLE11-30", "u1", NOW).coupon

    again = coupons.claim("DOUBLE11-30", "u1", NOW + timedelta(minutes=1))

    assert again.refusal is ClaimRefusal.ALREADY_CLAIMED and not again.ok
    assert again.held == (first,)
    stock = coupons.stock("DOUBLE11-30")
    assert stock is not None and stock.remaining == 9  # a refusal costs no stock


def test_per_shopper_limit_allows_that_many_coupons(promotions: SqlPromotions) -> None:
    coupons = promotions.coupons
    coupons.save_campaign(campaign(per_shopper_limit=2))

    results = [coupons.claim("DOUBLE11-30", "u1", NOW) for _ in range(3)]

    assert [r.ok for r in results] == [True, True, False]
    assert results[2].refusal is ClaimRefusal.ALREADY_CLAIMED
    assert len({c.code for c in coupons.coupons_of("u1")}) == 2


def test_refusals_say_why(promotions: SqlPromotions) -> None:
    coupons = promotions.coupons
    coupons.save_campaign(campaign(total_stock=1))
    coupons.save_campaign(campaign(campaign_id="LATER", starts_at=NOW + timedelta(hours=2)))

    assert coupons.claim("NOPE", "u1", NOW).refusal is ClaimRefusal.UNKNOWN_CAMPAIGN
    assert coupons.claim("LATER", "u1", NOW).refusal is ClaimRefusal.NOT_STARTED
    assert coupons.claim("DOUBLE11-30", "u1", NOW).ok
    assert coupons.claim("DOUBLE11-30", "u2", NOW).refusal is ClaimRefusal.OUT_OF_STOCK
    ended = NOW + timedelta(days=7)
    assert coupons.claim("LATER", "u2", ended).refusal is ClaimRefusal.ENDED
    # Already holding one beats "out of stock": the shopper learns they have a coupon.
    assert coupons.claim("DOUBLE11-30", "u1", NOW).refusal is ClaimRefusal.ALREADY_CLAIMED


def test_coupon_valid_for_days_after_claiming_outlives_the_claim_period(
    promotions: SqlPromotions,
) -> None:
    coupons = promotions.coupons
    coupons.save_campaign(campaign(ends_at=NOW + timedelta(hours=1), valid_days=7))

    coupon = coupons.claim("DOUBLE11-30", "u1", NOW + timedelta(minutes=59)).coupon

    assert coupon is not None
    assert coupon.expires_at == NOW + timedelta(days=7, minutes=59)
    assert coupon.state(NOW + timedelta(days=7, minutes=58)) == "usable"
    assert coupon.state(NOW + timedelta(days=7, minutes=59)) == "expired"


def test_fifty_shoppers_racing_for_ten_coupons_get_exactly_ten(
    promotions_factory: PromotionsFactory,
) -> None:
    # Two app instances (two engines) serving the rush, like a coupon drop announced in a group.
    instances = [promotions_factory(), promotions_factory()]
    instances[0].coupons.save_campaign(campaign(total_stock=10))

    results = race(50, lambda n: instances[n % 2].coupons.claim("DOUBLE11-30", f"u{n}", NOW))

    winners = [r.coupon for r in results if r.coupon is not None]
    assert len(winners) == 10
    assert Counter(r.refusal for r in results if not r.ok) == {ClaimRefusal.OUT_OF_STOCK: 40}
    assert len({c.shopper_id for c in winners}) == 10
    assert len({c.code for c in winners}) == 10
    stock = instances[1].coupons.stock("DOUBLE11-30")
    assert stock is not None and (stock.issued, stock.remaining) == (10, 0)
    held = sum(len(instances[0].coupons.coupons_of(f"u{n}")) for n in range(50))
    assert held == 10


@pytest.mark.parametrize("limit", [1, 3])
def test_one_shopper_claiming_twenty_times_at_once_gets_at_most_the_limit(
    promotions_factory: PromotionsFactory, limit: int
) -> None:
    instances = [promotions_factory(), promotions_factory()]
    instances[0].coupons.save_campaign(campaign(per_shopper_limit=limit))

    results = race(20, lambda n: instances[n % 2].coupons.claim("DOUBLE11-30", "eager", NOW))

    assert sum(r.ok for r in results) == limit
    assert {r.refusal for r in results if not r.ok} == {ClaimRefusal.ALREADY_CLAIMED}
    assert len(instances[0].coupons.coupons_of("eager")) == limit
    stock = instances[1].coupons.stock("DOUBLE11-30")
    # Every losing claim gave its stock unit back.
    assert stock is not None and (stock.issued, stock.remaining) == (limit, 10 - limit)


def test_a_coupon_is_used_once_and_a_retry_of_the_same_order_is_harmless(
    promotions: SqlPromotions,
) -> None:
    coupons = promotions.coupons
    coupons.save_campaign(campaign())
    code = coupons.claim("DOUBLE11-30", "u1", NOW).coupon.code  # type: ignore[union-attr]
    later = NOW + timedelta(hours=1)

    used = coupons.redeem(
        code.lower(), "u1", order_id="DD202511180001", order_total=Decimal("239"), now=later
    )
    retry = coupons.redeem(
        code, "u1", order_id="DD202511180001", order_total=Decimal("239"), now=later
    )
    other = coupons.redeem(
        code, "u1", order_id="DD202511180002", order_total=Decimal("239"), now=later
    )

    assert used.ok and used.coupon is not None and used.coupon.state(later) == "redeemed"
    assert retry.ok
    assert other.status is RedeemStatus.ALREADY_REDEEMED
    (held,) = coupons.coupons_of("u1")
    assert held.order_id == "DD202511180001" and held.redeemed_at == later


def test_redeem_refuses_strangers_small_orders_and_expired_coupons(
    promotions: SqlPromotions,
) -> None:
    coupons = promotions.coupons
    coupons.save_campaign(campaign())
    code = coupons.claim("DOUBLE11-30", "u1", NOW).coupon.code  # type: ignore[union-attr]

    def redeem(shopper: str, total: str, at: datetime) -> RedeemStatus:
        return coupons.redeem(
            code, shopper, order_id="DD1", order_total=Decimal(total), now=at
        ).status

    # Someone else's code looks exactly like a wrong code: codes cannot be probed.
    assert redeem("u2", "500", NOW) is RedeemStatus.UNKNOWN_COUPON
    assert redeem("u1", "198.99", NOW) is RedeemStatus.BELOW_MIN_SPEND
    assert redeem("u1", "500", NOW + timedelta(days=7)) is RedeemStatus.EXPIRED
    assert coupons.coupons_of("u1")[0].redeemed_at is None


def test_two_checkouts_racing_with_one_coupon_use_it_once(
    promotions_factory: PromotionsFactory,
) -> None:
    instances = [promotions_factory(), promotions_factory()]
    coupons = instances[0].coupons
    coupons.save_campaign(campaign())
    code = coupons.claim("DOUBLE11-30", "u1", NOW).coupon.code  # type: ignore[union-attr]

    results = race(
        8,
        lambda n: instances[n % 2].coupons.redeem(
            code, "u1", order_id=f"DD{n}", order_total=Decimal("300"), now=NOW
        ),
    )

    assert sum(r.ok for r in results) == 1
    assert sum(r.status is RedeemStatus.ALREADY_REDEEMED for r in results) == 7


def test_staff_can_top_up_stock_without_losing_count_of_claimed_coupons(
    promotions: SqlPromotions,
) -> None:
    coupons = promotions.coupons
    coupons.save_campaign(campaign(total_stock=2))
    for shopper in ("u1", "u2"):
        coupons.claim("DOUBLE11-30", shopper, NOW)
    assert coupons.claim("DOUBLE11-30", "u3", NOW).refusal is ClaimRefusal.OUT_OF_STOCK

    stock = coupons.save_campaign(campaign(total_stock=5, title_en="Double 11 extra"))

    assert (stock.total, stock.issued, stock.remaining) == (5, 2, 3)
    assert coupons.claim("DOUBLE11-30", "u3", NOW).ok
    saved = coupons.get_campaign("DOUBLE11-30")
    assert saved is not None and saved.title_en == "Double 11 extra"
    with pytest.raises(ValueError, match="below the 3 coupons already claimed"):
        coupons.save_campaign(campaign(total_stock=2))


def test_campaign_rules_are_checked_when_staff_write_them() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        campaign(starts_at=datetime(2025, 11, 1))
    with pytest.raises(ValueError, match="never expire"):
        campaign(ends_at=None)
    with pytest.raises(ValueError, match="per_shopper_limit"):
        campaign(per_shopper_limit=0)
    with pytest.raises(ValueError, match="fractions of a fen"):
        campaign(amount=Decimal("0.001"))
    with pytest.raises(ValueError, match="ends_at must be after"):
        campaign(ends_at=NOW - timedelta(days=2))
