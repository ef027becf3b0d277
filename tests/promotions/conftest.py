"""Promotion desks over real SQLite and PostgreSQL stores, with campaign files of the tests' own.

The campaigns and lifecycle files are written per test (not the repository's, which staff edit),
and the clock stands still until a test moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from assistant.commerce.campaigns import CampaignsFile
from assistant.commerce.lifecycle import Lifecycle, load_lifecycle_rules
from assistant.commerce.promotion_desk import PromotionDesk
from tests.catalogue import records
from tests.commerce.conftest import (  # noqa: F401 - fixtures shared with the store tests
    PromotionsFactory,
    postgres_promotions,
    postgres_url,
    promotions_factory,
    sqlite_promotions,
)
from tests.commerce.factories import FakeClock

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=timezone.utc)  # 12:00 in China

CAMPAIGNS = """
coupons:
  - id: WINTER-20
    title_zh: 冬日焕新券 满199减20
    title_en: "Winter coupon: CNY 20 off 199"
    amount: 20
    min_spend: 199
    stock: 10
    starts: 2026-11-01
    ends: 2027-02-28
  - id: WELCOME-10
    title_zh: 新朋友专享 满99减10
    title_en: "Welcome coupon: CNY 10 off 99"
    amount: 10
    min_spend: 99
    stock: 100
    starts: 2026-01-01
    ends: 2030-12-31
    valid_days: 30
  - id: SPRING-15
    brand: spring-brand
    title_zh: 春季焕新 满150减15
    title_en: "Spring coupon: CNY 15 off 150"
    amount: 15
    min_spend: 150
    stock: 10
    starts: 2027-03-01T10:00:00+08:00
    ends: 2027-03-31
  - id: AUTUMN-15
    brand: autumn-brand
    title_zh: 秋季福利 满150减15
    title_en: "Autumn coupon: CNY 15 off 150"
    amount: 15
    min_spend: 150
    stock: 10
    starts: 2026-09-01
    ends: 2026-10-31
  - id: LAST-ONE
    brand: tiny-brand
    title_zh: 限量券 满100减50
    title_en: "Limited coupon: CNY 50 off 100"
    amount: 50
    min_spend: 100
    stock: 1
    starts: 2026-11-01
    ends: 2026-12-31
  - id: INVITE-30
    title_zh: 邀请有礼 满99减30
    title_en: "Invite reward: CNY 30 off 99"
    amount: 30
    min_spend: 99
    stock: 100
    per_shopper: 50
    starts: 2026-01-01
    ends: 2030-12-31
group_buys:
  - id: FRIENDS
    products: [LY-SE-003, LY-MA-001, LY-SU-001]
    size: 3
    discount: 0.85
    hours: 24
referral:
  reward_campaign: INVITE-30
"""

LIFECYCLE = """
thresholds: {dormant_after_days: 60, churned_after_days: 180, active_min_paid_orders: 1}
stages:
  new: {campaigns: [WELCOME-10], messages: [lifecycle.new.welcome]}
  active: {messages: [lifecycle.active.member_perks]}
  dormant: {messages: [lifecycle.dormant.caring_nudge]}
  churned: {messages: [lifecycle.churned.win_back]}
"""

DeskFactory = Callable[..., PromotionDesk]


class DemoCatalogue:
    """The demo brand's product records from knowledge/, looked up by id like the KB does."""

    def __init__(self) -> None:
        self._by_id = {r.id: r for r in records()}

    def get(self, record_id: str) -> Any | None:
        return self._by_id.get(record_id)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def catalogue() -> DemoCatalogue:
    return DemoCatalogue()


@pytest.fixture
def promo_files(tmp_path: Path) -> tuple[Path, Path]:
    campaigns = tmp_path / "campaigns.yml"
    lifecycle = tmp_path / "lifecycle.yml"
    campaigns.write_text(CAMPAIGNS, encoding="utf-8")
    lifecycle.write_text(LIFECYCLE, encoding="utf-8")
    return campaigns, lifecycle


@pytest.fixture
def desk_factory(
    promotions_factory: PromotionsFactory,  # noqa: F811 - the shared fixture, by design
    promo_files: tuple[Path, Path],
    clock: FakeClock,
) -> DeskFactory:
    """Each call is another app instance over the same database and files."""

    def make(**kwargs: Any) -> PromotionDesk:
        store = promotions_factory(clock=clock)
        lifecycle = Lifecycle(store.activity, load_lifecycle_rules(promo_files[1]))
        return PromotionDesk(
            store, CampaignsFile(promo_files[0], store.coupons), lifecycle, clock=clock, **kwargs
        )

    return make


@pytest.fixture
def desk(desk_factory: DeskFactory) -> PromotionDesk:
    return desk_factory()
