"""Demo orders look real, cover every situation a shopper can be in, and never change by chance."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from assistant.commerce.models import COURIER_NAMES_EN, ORDER_STATUSES
from assistant.commerce.returns import ReturnRules, assess_return
from assistant.commerce.seed import ProductRef, demo_orders, seed_if_empty
from assistant.commerce.sql import SqlCommerce
from assistant.commerce.verification import OrderVerifier

NOW = datetime(2025, 11, 20, 6, 30, tzinfo=timezone.utc)
CHINA = timezone(timedelta(hours=8))


def test_same_arguments_give_the_same_orders(products: list[ProductRef]) -> None:
    assert demo_orders(products, NOW) == demo_orders(products, NOW)
    assert demo_orders(products, NOW) != demo_orders(products, NOW, seed=8)


def test_every_status_is_present_in_realistic_proportions(products: list[ProductRef]) -> None:
    orders = demo_orders(products, NOW)
    counts = Counter(order.status for order in orders)

    assert len(orders) >= 50
    assert set(counts) == set(ORDER_STATUSES)
    assert counts["pending_payment"] == 2
    assert counts["cancelled"] == 1
    assert counts["returned"] == 1
    assert counts["delivered"] > counts["shipped"] > counts["pending_payment"]


def test_order_ids_phones_and_parcels_follow_the_contracts(products: list[ProductRef]) -> None:
    orders = demo_orders(products, NOW)

    assert len({o.order_id for o in orders}) == len(orders)
    for order in orders:
        assert re.fullmatch(r"DD\d{12}", order.order_id)
        assert order.order_id[2:10] == order.created_at.astimezone(CHINA).strftime("%Y%m%d")
        assert re.fullmatch(r"1[3-9]\d{9}", order.phone)
        assert 1 <= len(order.items) <= 4
        assert order.total == sum((item.subtotal for item in order.items), Decimal("0"))
        assert order.created_at <= NOW
        has_parcel = order.status in ("shipped", "delivered", "returned")
        assert (order.courier in COURIER_NAMES_EN) is has_parcel
        assert bool(order.tracking_no) is has_parcel
        assert bool(order.events) is has_parcel
        assert (order.paid_at is None) is (order.status in ("pending_payment", "cancelled"))


def test_parcels_travel_in_order_and_end_where_the_status_says(
    products: list[ProductRef],
) -> None:
    for order in demo_orders(products, NOW):
        if not order.events:
            continue
        times = [event.time for event in order.events]
        assert times == sorted(times)
        assert times[-1] < NOW
        assert order.events[0].status == "collected"
        assert order.events[0].time == order.shipped_at
        assert all(event.description_zh and event.description_en for event in order.events)
        last = order.latest_event
        assert last is not None
        if order.status == "shipped":
            assert order.delivered_at is None
            assert last.status != "delivered"
        else:
            assert last.status == "delivered"
            assert last.time == order.delivered_at
            assert "已签收" in last.description_zh


def test_some_recent_deliveries_can_still_be_returned_and_old_ones_cannot(
    products: list[ProductRef],
) -> None:
    orders = [o for o in demo_orders(products, NOW) if o.status == "delivered"]
    reasons = Counter(assess_return(o, ReturnRules(), NOW).reason for o in orders)

    assert reasons["within_no_reason_window"] >= 3
    assert reasons["opened"] >= 1
    assert reasons["window_expired"] >= 10
    for order in orders:
        assert order.delivered_at is not None
        age = NOW - order.delivered_at
        assert timedelta(days=2) <= age <= timedelta(days=5, hours=10) or timedelta(
            days=10
        ) <= age <= timedelta(days=40, hours=10)


def test_demo_needs_products(products: list[ProductRef]) -> None:
    with pytest.raises(ValueError, match="product"):
        demo_orders([], NOW)
    assert len(demo_orders(products[:1], NOW, count=8)) == 8


def test_seeding_fills_an_empty_store_once_and_shoppers_can_verify(
    store: SqlCommerce, products: list[ProductRef]
) -> None:
    assert seed_if_empty(store, products, NOW) == 60
    assert seed_if_empty(store, products, NOW + timedelta(days=1)) == 0
    assert store.count_orders() == 60

    sample = demo_orders(products, NOW)[17]
    result = OrderVerifier(store).verify(sample.order_id.lower(), sample.phone[-4:])
    assert result.order == sample
