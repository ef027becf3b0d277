"""The order value types refuse data that would mislead a shopper and keep phones out of logs."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from assistant.commerce.models import Order, OrderItem
from tests.commerce.factories import make_order


def test_phone_number_never_appears_in_repr_and_is_masked_for_display() -> None:
    order = make_order(phone="13912343821")
    assert "13912343821" not in repr(order)
    assert order.masked_phone == "139****3821"


def test_events_are_kept_oldest_first_and_latest_event_is_the_newest_scan() -> None:
    order = make_order()
    shuffled = Order(**{**order.__dict__, "events": tuple(reversed(order.events))})
    assert [e.status for e in shuffled.events] == ["collected", "arrived", "delivered"]
    assert shuffled.latest_event is not None and shuffled.latest_event.status == "delivered"
    assert make_order(status="paid", delivered_at=None).latest_event is None


def test_times_are_converted_to_utc_and_naive_times_are_refused() -> None:
    order = make_order()
    assert order.created_at.tzinfo == timezone.utc
    assert order.created_at == datetime(2025, 11, 14, 13, 5, 7, 123456, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="timezone-aware"):
        Order(**{**order.__dict__, "created_at": datetime(2025, 11, 14, 13, 5)})


def test_money_is_exact_and_fractions_of_a_fen_are_refused() -> None:
    item = OrderItem("LY-MK-006", "澜屿修护面膜", "Mask", 3, Decimal("0.10"))
    assert item.subtotal == Decimal("0.30")
    with pytest.raises(ValueError, match="fen"):
        OrderItem("LY-MK-006", "澜屿修护面膜", "Mask", 1, Decimal("0.105"))
    with pytest.raises(ValueError, match="quantity"):
        OrderItem("LY-MK-006", "澜屿修护面膜", "Mask", 0, Decimal("1"))


def test_unknown_status_and_delivered_without_time_are_refused() -> None:
    order = make_order()
    with pytest.raises(ValueError, match="status"):
        Order(**{**order.__dict__, "status": "lost"})
    with pytest.raises(ValueError, match="delivered_at"):
        Order(**{**order.__dict__, "delivered_at": None})
