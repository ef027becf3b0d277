"""Orders and a clock the commerce tests build on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TypeVar

from assistant.commerce.models import LogisticsEvent, Order, OrderItem

T = TypeVar("T")


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def make_order(
    order_id: str = "DD202511180042",
    *,
    status: str = "delivered",
    phone: str = "13912343821",
    delivered_at: datetime | None = datetime(2025, 11, 18, 2, 0, tzinfo=timezone.utc),
    opened: bool = False,
) -> Order:
    """A two-line order with three scans, delivered unless told otherwise."""
    china = timezone(timedelta(hours=8))
    created = datetime(2025, 11, 14, 21, 5, 7, 123456, tzinfo=china)
    events = (
        LogisticsEvent(
            datetime(2025, 11, 15, 18, 0, tzinfo=china),
            "collected",
            "【杭州】顺丰速运 已揽收",
            "Picked up by SF Express in Hangzhou",
            "杭州",
        ),
        LogisticsEvent(
            datetime(2025, 11, 16, 9, 30, tzinfo=china),
            "arrived",
            "快件已到达【成都转运中心】",
            "Arrived at Chengdu transfer center",
            "成都",
        ),
    )
    if delivered_at is not None:
        events += (
            LogisticsEvent(
                delivered_at, "delivered", "已签收，本人签收", "Delivered, signed for", "成都"
            ),
        )
    items = (
        OrderItem("LY-SR-003", "澜屿烟酰胺精华", "LANYU Niacinamide Serum", 1, Decimal("239.00")),
        OrderItem("LY-MK-006", "澜屿修护面膜", "LANYU Repair Sheet Mask", 3, Decimal("0.10")),
    )
    shipped = status in ("shipped", "delivered", "returned")
    return Order(
        order_id=order_id,
        status=status,  # type: ignore[arg-type]
        created_at=created,
        paid_at=None if status == "pending_payment" else created + timedelta(minutes=3),
        shipped_at=events[0].time if shipped else None,
        delivered_at=delivered_at if status in ("delivered", "returned") else None,
        courier="顺丰速运" if shipped else None,
        tracking_no="SF1234567890123" if shipped else None,
        items=items,
        events=events if shipped else (),
        total=Decimal("239.30"),
        phone=phone,
        opened=opened,
    )


def race(workers: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(0..workers-1)`` on that many threads released at the same instant.

    Returns the results in worker order; the first exception any worker raised is re-raised.
    """
    barrier = threading.Barrier(workers)
    results: list[T | None] = [None] * workers
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            results[n] = work(n)
        except BaseException as exc:  # collected so the main thread can fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]
