"""Coupon campaigns, the coupons shoppers claim from them, and the interface a coupon system offers.

A campaign has a fixed stock and a per-shopper limit. Claiming either hands the shopper a coupon
with its own code or says why not (a ``ClaimRefusal`` the assistant turns into a reply in the
shopper's language). A coupon is valid until the campaign ends, or for ``valid_days`` after it
was claimed, and can be used once, on an order of at least ``min_spend``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Literal, Protocol, runtime_checkable

from assistant.commerce.models import as_money, as_utc
from assistant.language import Language

CouponState = Literal["usable", "redeemed", "expired"]


@dataclass(frozen=True)
class CouponCampaign:
    """What staff set up: a stock of coupons worth ``amount`` CNY off orders of ``min_spend``.

    Shoppers can claim from ``starts_at`` until ``ends_at`` (open-ended if None, then the stock
    decides). A coupon is usable until ``ends_at``, or, when ``valid_days`` is set, for that many
    days after it was claimed (so a late claimer still gets the full period). One of the two must
    be given so that no coupon stays valid forever.
    """

    campaign_id: str
    title_zh: str
    title_en: str
    total_stock: int
    amount: Decimal
    starts_at: datetime
    ends_at: datetime | None = None
    valid_days: int | None = None
    min_spend: Decimal = Decimal("0")
    per_shopper_limit: int = 1

    def __post_init__(self) -> None:
        if not self.campaign_id or len(self.campaign_id) > 64:
            raise ValueError(f"campaign_id must be 1-64 characters, got {self.campaign_id!r}")
        for name in ("total_stock", "per_shopper_limit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
        if self.total_stock < 0:
            raise ValueError(f"total_stock must be >= 0, got {self.total_stock}")
        if self.per_shopper_limit < 1:
            raise ValueError(f"per_shopper_limit must be >= 1, got {self.per_shopper_limit}")
        object.__setattr__(self, "amount", as_money(self.amount, "amount"))
        object.__setattr__(self, "min_spend", as_money(self.min_spend, "min_spend"))
        if self.amount <= 0:
            raise ValueError("amount must be more than 0")
        object.__setattr__(self, "starts_at", as_utc(self.starts_at, "starts_at"))
        if self.ends_at is not None:
            object.__setattr__(self, "ends_at", as_utc(self.ends_at, "ends_at"))
            if self.ends_at <= self.starts_at:
                raise ValueError("ends_at must be after starts_at")
        if self.valid_days is not None and (
            isinstance(self.valid_days, bool)
            or not isinstance(self.valid_days, int)
            or self.valid_days < 1
        ):
            raise ValueError(f"valid_days must be a whole number >= 1, got {self.valid_days!r}")
        if self.ends_at is None and self.valid_days is None:
            raise ValueError("a campaign needs ends_at or valid_days, or its coupons never expire")

    def title(self, language: Language) -> str:
        """The campaign's name in the shopper's language."""
        return self.title_zh if language == "zh" else self.title_en

    def coupon_expiry(self, claimed_at: datetime) -> datetime:
        """When a coupon claimed at ``claimed_at`` stops being usable."""
        if self.valid_days is not None:
            return as_utc(claimed_at, "claimed_at") + timedelta(days=self.valid_days)
        assert self.ends_at is not None  # guaranteed by __post_init__
        return self.ends_at


@dataclass(frozen=True)
class CampaignStock:
    """How much of a campaign's stock is gone, for staff and for "only 3 left!" replies."""

    campaign_id: str
    total: int
    issued: int
    remaining: int


@dataclass(frozen=True)
class Coupon:
    """A coupon a shopper holds. ``code`` is what they show at checkout."""

    code: str
    campaign_id: str
    shopper_id: str
    title_zh: str
    title_en: str
    amount: Decimal
    min_spend: Decimal
    claimed_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None = None
    order_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "claimed_at", as_utc(self.claimed_at, "claimed_at"))
        object.__setattr__(self, "expires_at", as_utc(self.expires_at, "expires_at"))
        if self.redeemed_at is not None:
            object.__setattr__(self, "redeemed_at", as_utc(self.redeemed_at, "redeemed_at"))

    def title(self, language: Language) -> str:
        """The campaign's name in the shopper's language."""
        return self.title_zh if language == "zh" else self.title_en

    def state(self, now: datetime) -> CouponState:
        """``redeemed`` once used, else ``expired`` from ``expires_at`` on, else ``usable``."""
        if self.redeemed_at is not None:
            return "redeemed"
        return "expired" if as_utc(now, "now") >= self.expires_at else "usable"


class ClaimRefusal(str, Enum):
    """Why a claim gave no coupon; each has a reply in both languages (``promotion_texts``)."""

    UNKNOWN_CAMPAIGN = "unknown_campaign"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    OUT_OF_STOCK = "out_of_stock"
    # The shopper already holds ``per_shopper_limit`` coupons of this campaign.
    ALREADY_CLAIMED = "already_claimed"


@dataclass(frozen=True)
class ClaimResult:
    """Exactly one of ``coupon`` (claimed) and ``refusal`` is set.

    With ALREADY_CLAIMED, ``coupon`` is still None but ``held`` lists the shopper's coupons of the
    campaign so the reply can remind them of their code.
    """

    coupon: Coupon | None = None
    refusal: ClaimRefusal | None = None
    held: tuple[Coupon, ...] = ()

    @property
    def ok(self) -> bool:
        """True when a coupon was claimed by this call."""
        return self.coupon is not None


class RedeemStatus(str, Enum):
    """Outcome of using a coupon on an order."""

    REDEEMED = "redeemed"
    # Used before on another order. Using it again on the same order is REDEEMED (a safe retry).
    ALREADY_REDEEMED = "already_redeemed"
    # No such code, or not this shopper's: the two look the same so codes cannot be probed.
    UNKNOWN_COUPON = "unknown_coupon"
    EXPIRED = "expired"
    BELOW_MIN_SPEND = "below_min_spend"


@dataclass(frozen=True)
class RedeemResult:
    """The outcome and, unless the coupon is unknown, the coupon as it now stands."""

    status: RedeemStatus
    coupon: Coupon | None = None

    @property
    def ok(self) -> bool:
        """True when the coupon is (now) used on this order."""
        return self.status is RedeemStatus.REDEEMED


@runtime_checkable
class CouponService(Protocol):
    """Coupons as the assistant uses them. ``SqlCoupons`` implements it; a brand's own CRM can."""

    def save_campaign(self, campaign: CouponCampaign) -> CampaignStock:
        """Create a campaign, or change one; a changed ``total_stock`` keeps what was issued.

        Raises ``ValueError`` if the new total is below the number already claimed.
        """
        ...

    def get_campaign(self, campaign_id: str) -> CouponCampaign | None:
        """The campaign with this id, or None."""
        ...

    def stock(self, campaign_id: str) -> CampaignStock | None:
        """How many coupons of the campaign were issued and how many are left, or None."""
        ...

    def claim(self, campaign_id: str, shopper_id: str, now: datetime) -> ClaimResult:
        """Give the shopper a coupon, or a refusal.

        Never issues more than the stock nor more than the per-shopper limit, even when many
        claims arrive at once from several app instances.
        """
        ...

    def coupons_of(self, shopper_id: str) -> list[Coupon]:
        """Every coupon the shopper holds (used and expired ones too), newest first."""
        ...

    def redeem(
        self, code: str, shopper_id: str, *, order_id: str, order_total: Decimal, now: datetime
    ) -> RedeemResult:
        """Use the shopper's coupon on an order, once."""
        ...
