"""Return answers match the policy to the minute, counted from the day after delivery."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from assistant.commerce.models import Order
from assistant.commerce.returns import ReturnRules, assess_return
from tests.commerce.factories import make_order

CHINA = timezone(timedelta(hours=8))
# Signed for on 10 November, 10:00 China time: the 7-day window covers 11-17 November.
DELIVERED = datetime(2025, 11, 10, 10, 0, tzinfo=CHINA)
NO_REASON_DEADLINE = datetime(2025, 11, 18, 0, 0, tzinfo=CHINA)
QUALITY_DEADLINE = datetime(2025, 12, 11, 0, 0, tzinfo=CHINA)
RULES = ReturnRules()
SECOND = timedelta(seconds=1)


def delivered(*, opened: bool = False, at: datetime = DELIVERED) -> Order:
    return make_order(delivered_at=at, opened=opened)


def test_on_the_day_of_delivery_all_seven_days_are_ahead() -> None:
    result = assess_return(delivered(), RULES, DELIVERED + timedelta(hours=1))
    assert (result.eligible, result.reason) == (True, "within_no_reason_window")
    assert result.deadline == NO_REASON_DEADLINE
    assert result.days_left == 7


def test_last_second_of_the_last_day_is_still_inside_the_window() -> None:
    result = assess_return(delivered(), RULES, NO_REASON_DEADLINE - SECOND)
    assert (result.eligible, result.reason, result.days_left) == (
        True,
        "within_no_reason_window",
        0,
    )


def test_at_midnight_after_the_last_day_the_window_has_expired() -> None:
    result = assess_return(delivered(), RULES, NO_REASON_DEADLINE)
    assert (result.eligible, result.reason) == (False, "window_expired")
    assert result.deadline == NO_REASON_DEADLINE
    assert result.days_left is None


def test_a_late_evening_delivery_still_gets_seven_full_days() -> None:
    late = datetime(2025, 11, 10, 23, 50, tzinfo=CHINA)
    # Counting 7 x 24 hours from the scan would close at 23:50 on the 17th; the window runs by
    # China calendar days, so the shopper keeps the whole of the 17th.
    result = assess_return(delivered(at=late), RULES, NO_REASON_DEADLINE - SECOND)
    assert result.eligible
    assert result.deadline == NO_REASON_DEADLINE


def test_opened_goods_cannot_go_back_without_a_reason() -> None:
    result = assess_return(delivered(opened=True), RULES, DELIVERED + timedelta(days=2))
    assert (result.eligible, result.reason) == (False, "opened")
    assert result.days_left == 5


def test_opened_goods_can_go_back_when_the_policy_allows_it() -> None:
    rules = ReturnRules(requires_unopened_for_no_reason=False)
    result = assess_return(delivered(opened=True), rules, DELIVERED + timedelta(days=2))
    assert (result.eligible, result.reason) == (True, "within_no_reason_window")


def test_quality_issues_get_the_long_window_even_when_opened() -> None:
    order = delivered(opened=True)
    inside = assess_return(order, RULES, QUALITY_DEADLINE - SECOND, quality_issue=True)
    assert (inside.eligible, inside.reason, inside.days_left) == (True, "quality_issue_window", 0)
    assert inside.deadline == QUALITY_DEADLINE

    after = assess_return(order, RULES, QUALITY_DEADLINE, quality_issue=True)
    assert (after.eligible, after.reason) == (False, "window_expired")


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("pending_payment", "not_paid"),
        ("paid", "not_delivered_yet"),
        ("shipped", "not_delivered_yet"),
        ("cancelled", "cancelled"),
        ("returned", "already_returned"),
    ],
)
def test_orders_that_are_not_a_delivered_parcel_cannot_be_returned(
    status: str, reason: str
) -> None:
    order = make_order(status=status, delivered_at=DELIVERED if status == "returned" else None)
    result = assess_return(order, RULES, DELIVERED + timedelta(days=1), quality_issue=True)
    assert (result.eligible, result.reason, result.deadline, result.days_left) == (
        False,
        reason,
        None,
        None,
    )


def test_rules_come_from_the_policy_record() -> None:
    rules = ReturnRules.from_mapping({"no_reason_days": 15, "shipping_paid_by": "brand"})
    assert rules == ReturnRules(no_reason_days=15, quality_issue_days=30)
    assert ReturnRules.from_mapping(None) == ReturnRules()

    longer = assess_return(delivered(), rules, NO_REASON_DEADLINE + timedelta(days=6))
    assert (longer.eligible, longer.reason, longer.days_left) == (
        True,
        "within_no_reason_window",
        1,
    )


@pytest.mark.parametrize(
    "rules",
    [
        {"no_reason_days": -1},
        {"quality_issue_days": "thirty"},
        {"no_reason_days": 7.5},
        {"requires_unopened_for_no_reason": "yes"},
    ],
)
def test_bad_policy_values_are_refused_by_name(rules: dict[str, object]) -> None:
    (key,) = rules
    with pytest.raises(ValueError, match=key):
        ReturnRules.from_mapping(rules)


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        assess_return(delivered(), RULES, datetime(2025, 11, 12, 10, 0))


def test_delivery_time_is_what_counts_not_when_the_order_was_placed() -> None:
    order = replace(delivered(), created_at=DELIVERED - timedelta(days=30))
    assert assess_return(order, RULES, DELIVERED + timedelta(days=3)).eligible
