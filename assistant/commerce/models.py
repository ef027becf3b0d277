"""Orders, their items and parcel tracking, and requests for a human: the commerce value types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Final, Literal

from assistant.language import Language

OrderStatus = Literal["pending_payment", "paid", "shipped", "delivered", "cancelled", "returned"]
ORDER_STATUSES: Final[tuple[OrderStatus, ...]] = (
    "pending_payment",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
)

# Logistics statuses the demo data and the SQL store use; a brand's own order system may send
# others, so events do not validate against this list.
LOGISTICS_STATUSES: Final[tuple[str, ...]] = (
    "collected",
    "in_transit",
    "arrived",
    "out_for_delivery",
    "delivered",
)

# Couriers are stored by their Chinese name (what the parcel label says); English replies use this.
COURIER_NAMES_EN: Final[dict[str, str]] = {
    "顺丰速运": "SF Express",
    "中通快递": "ZTO Express",
    "圆通速递": "YTO Express",
    "京东物流": "JD Logistics",
}

HandoffStatus = Literal["open", "closed"]
# Where a request is in its life: ``status`` stays "open" until it is closed (one open request per
# conversation), the stage says whether staff have taken it and answered.
HandoffStage = Literal["open", "claimed", "answered", "closed"]

# The brand's business calendar: order ids carry its date and return windows end at its midnight.
# China has no daylight saving, so a fixed offset is exact and needs no tz database.
CHINA_TIME: Final = timezone(timedelta(hours=8), "CST")

_CENT: Final = Decimal("0.01")


def as_utc(value: datetime, what: str) -> datetime:
    """Return ``value`` in UTC; naive datetimes are refused because their zone is a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value!r}")
    return value.astimezone(timezone.utc)


def as_money(value: Decimal | int | str, what: str) -> Decimal:
    """Return ``value`` as a Decimal with two places; amounts finer than one fen are refused."""
    if isinstance(value, float):
        # Floats cannot hold most prices exactly; going through str keeps what was written.
        value = str(value)
    amount = Decimal(value)
    cents = amount.quantize(_CENT)
    if cents != amount:
        raise ValueError(f"{what} has fractions of a fen: {value!r}")
    if cents < 0:
        raise ValueError(f"{what} must not be negative: {value!r}")
    return cents


def _optional_utc(value: datetime | None, what: str) -> datetime | None:
    return None if value is None else as_utc(value, what)


@dataclass(frozen=True)
class OrderItem:
    """One line of an order: which product, how many, at what unit price (CNY)."""

    product_id: str
    name_zh: str
    name_en: str
    quantity: int
    unit_price: Decimal

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError(f"quantity must be at least 1, got {self.quantity}")
        object.__setattr__(self, "unit_price", as_money(self.unit_price, "unit_price"))

    @property
    def subtotal(self) -> Decimal:
        """Unit price times quantity."""
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class LogisticsEvent:
    """One scan in a parcel's journey, with the courier's text in both languages."""

    time: datetime
    status: str
    description_zh: str
    description_en: str
    location: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", as_utc(self.time, "event time"))


@dataclass(frozen=True)
class Order:
    """A shopper's order as the assistant may show it once the shopper has proved it is theirs.

    ``phone`` is the full number and private: it is kept out of ``repr`` so it never reaches a
    log line, and replies should use ``masked_phone``. ``events`` run oldest first.
    """

    order_id: str
    status: OrderStatus
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    courier: str | None
    tracking_no: str | None
    items: tuple[OrderItem, ...]
    events: tuple[LogisticsEvent, ...]
    total: Decimal
    phone: str = field(repr=False)
    opened: bool = False

    def __post_init__(self) -> None:
        if self.status not in ORDER_STATUSES:
            raise ValueError(f"unknown order status {self.status!r}")
        object.__setattr__(self, "created_at", as_utc(self.created_at, "created_at"))
        for name in ("paid_at", "shipped_at", "delivered_at"):
            object.__setattr__(self, name, _optional_utc(getattr(self, name), name))
        if self.status == "delivered" and self.delivered_at is None:
            # Return windows count from delivery; a delivered order without the time is unusable.
            raise ValueError(f"order {self.order_id} is delivered but has no delivered_at")
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "events", tuple(sorted(self.events, key=lambda e: e.time)))
        object.__setattr__(self, "total", as_money(self.total, "total"))

    @property
    def latest_event(self) -> LogisticsEvent | None:
        """The most recent logistics scan, or None before the parcel is handed to a courier."""
        return self.events[-1] if self.events else None

    @property
    def masked_phone(self) -> str:
        """The phone number with its middle hidden, as ``138****3821``, safe to show."""
        digits = "".join(ch for ch in self.phone if ch.isdigit())
        if len(digits) < 7:
            return "*" * len(digits)
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


@dataclass(frozen=True)
class HandoffRequest:
    """A shopper's request to talk to brand staff, waiting in the staff queue while ``open``.

    ``platform``/``chat_id``/``user_id``/``user_name`` say where staff answer; the ``*_by`` and
    ``*_at`` pairs say who moved it on and when (None until that step happened).
    """

    id: int
    conversation_id: str
    language: Language
    reason: str
    text: str
    created_at: datetime
    status: HandoffStatus
    platform: str = ""
    chat_id: str = ""
    user_id: str = ""
    user_name: str = ""
    chat_type: str = "group"
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    escalated_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", as_utc(self.created_at, "created_at"))
        for name in ("claimed_at", "answered_at", "closed_at", "escalated_at"):
            object.__setattr__(self, name, _optional_utc(getattr(self, name), name))

    @property
    def stage(self) -> HandoffStage:
        """open → claimed (a staff member took it) → answered (first staff reply) → closed."""
        if self.status == "closed":
            return "closed"
        if self.answered_at is not None:
            return "answered"
        return "claimed" if self.claimed_at is not None else "open"

    @property
    def escalated(self) -> bool:
        return self.escalated_at is not None

    def waiting_seconds(self, now: datetime) -> float:
        """How long the shopper waited for a person: until the first staff reply, or until now."""
        end = self.answered_at or self.closed_at or as_utc(now, "now")
        return max(0.0, (end - self.created_at).total_seconds())
