"""Deterministic demo orders, so a fresh install can answer "where is my order" at once."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

from assistant.commerce.interfaces import OrderStore
from assistant.commerce.models import (
    CHINA_TIME,
    COURIER_NAMES_EN,
    LogisticsEvent,
    Order,
    OrderItem,
    OrderStatus,
    as_money,
    as_utc,
)


@dataclass(frozen=True)
class ProductRef:
    """What an order line needs to know about a catalogue product."""

    product_id: str
    name_zh: str
    name_en: str
    price: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "price", as_money(self.price, f"price of {self.product_id}"))


# (zh, en) city names. The brand ships from its Hangzhou warehouse or a Guangzhou one.
_WAREHOUSES: Final = (("杭州", "Hangzhou"), ("广州", "Guangzhou"))
_CITIES: Final = (
    ("上海", "Shanghai"),
    ("北京", "Beijing"),
    ("深圳", "Shenzhen"),
    ("成都", "Chengdu"),
    ("武汉", "Wuhan"),
    ("南京", "Nanjing"),
    ("西安", "Xi'an"),
    ("重庆", "Chongqing"),
    ("苏州", "Suzhou"),
    ("长沙", "Changsha"),
    ("天津", "Tianjin"),
    ("郑州", "Zhengzhou"),
    ("厦门", "Xiamen"),
    ("青岛", "Qingdao"),
)
_COURIER_SURNAMES: Final = (
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
)
_HANDOVER: Final = (
    ("本人签收", "signed for by the recipient"),
    ("已放入丰巢快递柜", "placed in a Hive Box parcel locker"),
    ("已由菜鸟驿站代收", "received by the Cainiao Station"),
    ("家人代收", "signed for by a family member"),
)

# How the demo orders divide among situations a shopper can be in. Each kind is present at least
# once; pending payment, cancelled and returned are rare on purpose.
_FIXED_KINDS: Final = (
    "pending_payment",
    "pending_payment",
    "cancelled",
    "returned",
    "paid",
    "shipped",
    "delivered_recent",
    "delivered_recent_opened",
    "delivered_old",
)
_WEIGHTED_KINDS: Final = (
    ("paid", 2),
    ("shipped", 6),
    ("delivered_recent", 5),
    ("delivered_recent_opened", 1),
    ("delivered_old", 8),
)
# Days since delivery for the kinds that were delivered: recent ones are inside a 7-day window.
_DELIVERED_DAYS_AGO: Final = {
    "delivered_recent": (2, 5),
    "delivered_recent_opened": (2, 5),
    "delivered_old": (10, 40),
    "returned": (8, 20),
}


def _tracking_no(courier: str, rng: random.Random) -> str:
    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    formats: dict[str, Callable[[], str]] = {
        "顺丰速运": lambda: "SF" + digits(13),
        "中通快递": lambda: "78" + digits(12),
        "圆通速递": lambda: "YT" + digits(13),
        "京东物流": lambda: "JDVA" + digits(11),
    }
    return formats[courier]()


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def _at_seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _journey(
    rng: random.Random,
    courier: str,
    shipped_at: datetime,
    delivered_at: datetime | None,
    until: datetime,
) -> tuple[LogisticsEvent, ...]:
    """Scans from pick-up on; for a parcel still travelling, only those before ``until``."""
    courier_en = COURIER_NAMES_EN[courier]
    origin_zh, origin_en = rng.choice(_WAREHOUSES)
    dest_zh, dest_en = rng.choice(_CITIES)
    surname_zh, surname_en = rng.choice(_COURIER_SURNAMES)
    steps = [
        (
            "collected",
            f"【{origin_zh}】{courier} 已揽收",
            f"Picked up by {courier_en} in {origin_en}",
            origin_zh,
        ),
        (
            "in_transit",
            f"快件已从【{origin_zh}转运中心】发出，正在发往【{dest_zh}转运中心】",
            f"Departed {origin_en} transfer center, on the way to {dest_en} transfer center",
            origin_zh,
        ),
        (
            "arrived",
            f"快件已到达【{dest_zh}转运中心】",
            f"Arrived at {dest_en} transfer center",
            dest_zh,
        ),
        (
            "out_for_delivery",
            f"【{dest_zh}】快递员{surname_zh}师傅正在派送中",
            f"Out for delivery in {dest_en} (courier: {surname_en})",
            dest_zh,
        ),
    ]
    if delivered_at is not None:
        handover_zh, handover_en = rng.choice(_HANDOVER)
        steps.append(("delivered", f"已签收，{handover_zh}", f"Delivered, {handover_en}", dest_zh))
        end = delivered_at
    else:
        # A parcel still on its way has had some of the scans, each before now.
        steps = steps[: rng.randint(1, 4)]
        end = until - timedelta(minutes=rng.randint(20, 180))
    span = (end - shipped_at).total_seconds()
    if len(steps) == 1:
        fractions = [0.0]
    else:
        inner = sorted(rng.uniform(0.1, 0.9) for _ in range(len(steps) - 2))
        fractions = [0.0, *inner, 1.0]
    return tuple(
        LogisticsEvent(
            time=_at_seconds(shipped_at + timedelta(seconds=span * fraction)),
            status=status,
            description_zh=zh,
            description_en=en,
            location=location,
        )
        for fraction, (status, zh, en, location) in zip(fractions, steps, strict=True)
    )


def _kinds(count: int, rng: random.Random) -> list[str]:
    kinds = list(_FIXED_KINDS[:count])
    names = [name for name, _ in _WEIGHTED_KINDS]
    weights = [weight for _, weight in _WEIGHTED_KINDS]
    kinds += rng.choices(names, weights=weights, k=count - len(kinds))
    rng.shuffle(kinds)
    return kinds


def _order_of_kind(
    kind: str, rng: random.Random, now: datetime, items: tuple[OrderItem, ...], phone: str
) -> Order:
    hours = timedelta(hours=1)
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    courier: str | None = None
    status: OrderStatus
    events: tuple[LogisticsEvent, ...] = ()
    opened = False

    if kind == "pending_payment":
        status = "pending_payment"
        created_at = now - timedelta(minutes=rng.randint(5, 20 * 60))
    elif kind == "cancelled":
        status = "cancelled"
        created_at = now - rng.uniform(2, 6) * 24 * hours
    elif kind == "paid":
        status = "paid"
        created_at = now - rng.uniform(1, 20) * hours
        paid_at = created_at + timedelta(minutes=rng.randint(1, 30))
    else:
        courier = rng.choice(tuple(COURIER_NAMES_EN))
        if kind == "shipped":
            status = "shipped"
            shipped_at = now - rng.uniform(4, 60) * hours
        else:
            status = "returned" if kind == "returned" else "delivered"
            days_ago = timedelta(days=rng.randint(*_DELIVERED_DAYS_AGO[kind]))
            delivered_at = _at_seconds(now - days_ago - rng.uniform(0, 10) * hours)
            shipped_at = delivered_at - rng.uniform(18, 72) * hours
            # Opened parcels show the "no no-reason return once opened" rule in the demo.
            opened = kind == "delivered_recent_opened" or (
                kind == "delivered_old" and rng.random() < 0.5
            )
        shipped_at = _at_seconds(shipped_at)
        created_at = shipped_at - rng.uniform(3, 30) * hours
        paid_at = created_at + timedelta(minutes=rng.randint(1, 30))
        events = _journey(rng, courier, shipped_at, delivered_at, now)

    created_at = _at_seconds(created_at)
    return Order(
        order_id="",  # numbered once all orders are sorted by creation time
        status=status,
        created_at=created_at,
        paid_at=None if paid_at is None else _at_seconds(paid_at),
        shipped_at=shipped_at,
        delivered_at=delivered_at,
        courier=courier,
        tracking_no=None if courier is None else _tracking_no(courier, rng),
        items=items,
        events=events,
        total=sum((item.subtotal for item in items), Decimal("0")),
        phone=phone,
        opened=opened,
    )


def _number(orders: list[Order], rng: random.Random) -> list[Order]:
    """Give ids ``DD`` + creation date + a per-day sequence that grows through the day."""
    sequence: dict[date, int] = {}
    numbered = []
    for order in sorted(orders, key=lambda o: o.created_at):
        # Order ids carry the shop's (China) calendar date, like the brand's order system.
        day = order.created_at.astimezone(CHINA_TIME).date()
        if day not in sequence:
            # Other shoppers ordered that day too, so a day's first demo order is not 0001.
            sequence[day] = rng.randint(0, 200)
        sequence[day] += rng.randint(1, 25)
        if sequence[day] > 9999:
            raise ValueError(f"too many demo orders on {day} for a 4-digit sequence")
        order_id = f"DD{day:%Y%m%d}{sequence[day]:04d}"
        numbered.append(replace(order, order_id=order_id))
    return numbered


def demo_orders(
    products: Sequence[ProductRef], now: datetime, *, count: int = 60, seed: int = 7
) -> list[Order]:
    """``count`` realistic orders relative to ``now``, the same for the same arguments.

    Every status is present once ``count`` >= 7: a couple awaiting payment, one cancelled, one
    returned, some paid, parcels on the way, deliveries 2-5 days ago (still returnable) and
    10-40 days ago. Phone numbers are random and fictional; some shoppers have several orders.
    """
    if not products:
        raise ValueError("demo orders need at least one product")
    if count < 1:
        return []
    now = as_utc(now, "now")
    rng = random.Random(seed)
    shoppers = [_phone(rng) for _ in range(max(1, count * 2 // 3))]
    orders = []
    for kind in _kinds(count, rng):
        chosen = rng.sample(list(products), k=min(rng.randint(1, 4), len(products)))
        items = tuple(
            OrderItem(
                product_id=p.product_id,
                name_zh=p.name_zh,
                name_en=p.name_en,
                quantity=rng.choice((1, 1, 1, 2, 2, 3)),
                unit_price=p.price,
            )
            for p in chosen
        )
        orders.append(_order_of_kind(kind, rng, now, items, rng.choice(shoppers)))
    return _number(orders, rng)


def seed_if_empty(store: OrderStore, products: Sequence[ProductRef], now: datetime) -> int:
    """Fill an empty store with the demo orders; returns how many were added (0 if not empty)."""
    if store.count_orders() > 0:
        return 0
    orders = demo_orders(products, now)
    store.add_orders(orders)
    return len(orders)
