"""Lifecycle stages follow what shoppers do and the rules staff write in ``lifecycle.yml``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.commerce.lifecycle import (
    Lifecycle,
    LifecycleRules,
    LifecycleRulesError,
    ShopperActivityStore,
    StageOffers,
    load_lifecycle_rules,
)
from assistant.commerce.promotions_sql import SqlPromotions

NOW = datetime(2025, 11, 18, 2, 0, tzinfo=timezone.utc)
REPO_RULES = Path(__file__).resolve().parents[2] / "lifecycle.yml"


def days(n: float) -> timedelta:
    return timedelta(days=n)


@pytest.fixture
def lifecycle(promotions: SqlPromotions) -> Lifecycle:
    return Lifecycle(promotions.activity, load_lifecycle_rules(REPO_RULES))


def test_sql_activity_implements_the_interface(promotions: SqlPromotions) -> None:
    assert isinstance(promotions.activity, ShopperActivityStore)


def test_shipped_rules_file_loads_with_offers_for_every_stage() -> None:
    rules = load_lifecycle_rules(REPO_RULES)

    assert (rules.dormant_after_days, rules.churned_after_days) == (60, 180)
    assert rules.offers_for("new").campaigns == ("WELCOME-20",)
    assert "lifecycle.dormant.caring_nudge" in rules.offers_for("dormant").messages
    assert rules.offers_for("churned").campaigns == ()


def test_a_shopper_moves_from_new_to_active_to_dormant_to_churned(
    promotions: SqlPromotions, lifecycle: Lifecycle
) -> None:
    activity = promotions.activity
    assert lifecycle.stage_of("mei", NOW).stage == "new"  # never seen

    activity.record_activity("mei", NOW)
    welcome = lifecycle.stage_of("mei", NOW + days(1))
    assert welcome.stage == "new"
    assert welcome.offers.campaigns == ("WELCOME-20",)

    promotions.order_paid("mei", "DD202511200001", NOW + days(2))
    active = lifecycle.stage_of("mei", NOW + days(3))
    assert active.stage == "active"
    assert active.activity is not None and active.activity.paid_orders == 1
    assert active.activity.last_order_at == NOW + days(2)

    assert lifecycle.stage_of("mei", NOW + days(2 + 59)).stage == "active"
    assert lifecycle.stage_of("mei", NOW + days(2 + 60)).stage == "dormant"
    assert lifecycle.stage_of("mei", NOW + days(2 + 180)).stage == "churned"

    # Coming back makes them active again: stages describe now, not history.
    activity.record_activity("mei", NOW + days(200))
    assert lifecycle.stage_of("mei", NOW + days(201)).stage == "active"


def test_a_shopper_who_chats_but_never_buys_still_goes_dormant(
    promotions: SqlPromotions, lifecycle: Lifecycle
) -> None:
    promotions.activity.record_activity("lurker", NOW)

    assert lifecycle.stage_of("lurker", NOW + days(30)).stage == "new"
    assert lifecycle.stage_of("lurker", NOW + days(60)).stage == "dormant"


def test_activity_counts_each_order_once_and_ignores_late_old_reports(
    promotions: SqlPromotions,
) -> None:
    activity = promotions.activity
    activity.record_activity("mei", NOW)
    activity.record_paid_order("mei", "DD1", NOW + days(1))
    activity.record_paid_order("mei", "DD1", NOW + days(1))  # the webhook retried
    activity.record_paid_order("mei", "DD2", NOW + days(5))
    activity.record_activity("mei", NOW - days(3))  # a late report of an earlier message
    activity.record_activity("mei", NOW + days(2))  # older than the last order

    seen = activity.activity_of("mei")

    assert seen is not None
    assert seen.paid_orders == 2
    assert seen.first_seen == NOW - days(3)
    assert seen.last_active == NOW + days(5)
    assert seen.last_order_at == NOW + days(5)
    assert activity.activity_of("stranger") is None


def test_staff_thresholds_change_the_stages(promotions: SqlPromotions, tmp_path: Path) -> None:
    rules_file = tmp_path / "lifecycle.yml"
    rules_file.write_text(
        "thresholds:\n"
        "  dormant_after_days: 30\n"
        "  churned_after_days: 90\n"
        "  active_min_paid_orders: 2\n"
        "stages:\n"
        "  active:\n"
        "    campaigns: [VIP-50]\n",
        encoding="utf-8",
    )
    lifecycle = Lifecycle(promotions.activity, load_lifecycle_rules(rules_file))
    promotions.activity.record_paid_order("mei", "DD1", NOW)

    assert lifecycle.stage_of("mei", NOW).stage == "new"  # one order is not enough here
    promotions.activity.record_paid_order("mei", "DD2", NOW)
    assert lifecycle.stage_of("mei", NOW).stage == "active"
    assert lifecycle.offers_for("active") == StageOffers(campaigns=("VIP-50",))
    assert lifecycle.offers_for("new") == StageOffers()
    assert lifecycle.stage_of("mei", NOW + days(30)).stage == "dormant"
    assert lifecycle.stage_of("mei", NOW + days(90)).stage == "churned"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("thresholds:\n  dormant_after_days: -1\n", "thresholds.dormant_after_days"),
        ("thresholds:\n  dormant_after_days: sixty\n", "thresholds.dormant_after_days"),
        ("thresholds:\n  dormant_after_day: 60\n", "thresholds.dormant_after_day"),
        (
            "thresholds:\n  dormant_after_days: 200\n  churned_after_days: 180\n",
            "thresholds.churned_after_days",
        ),
        ("stages:\n  sleeping:\n    campaigns: [A]\n", "stages.sleeping"),
        ("stages:\n  new:\n    campaigns: WELCOME-20\n", "stages.new.campaigns"),
        ("stages:\n  new:\n    coupons: [WELCOME-20]\n", "stages.new.coupons"),
        ("- just\n- a list\n", "(top level)"),
        ("thresholds: [60, 180\n", "(syntax)"),
    ],
)
def test_a_broken_rules_file_names_the_field_to_fix(tmp_path: Path, text: str, field: str) -> None:
    rules_file = tmp_path / "lifecycle.yml"
    rules_file.write_text(text, encoding="utf-8")

    with pytest.raises(LifecycleRulesError) as caught:
        load_lifecycle_rules(rules_file)

    assert caught.value.field == field
    assert str(caught.value).startswith(f"{rules_file}: {field}: ")


def test_a_missing_rules_file_is_an_error_not_a_silent_default(tmp_path: Path) -> None:
    with pytest.raises(LifecycleRulesError, match="cannot be read"):
        load_lifecycle_rules(tmp_path / "absent.yml")


def test_unknown_stage_has_no_offers() -> None:
    with pytest.raises(ValueError, match="unknown lifecycle stage"):
        LifecycleRules().offers_for("vip")  # type: ignore[arg-type]
