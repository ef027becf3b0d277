"""Referrals (裂变): invite codes, who invited whom, and the reward for a referred first order.

Each shopper has one stable invite code. A new shopper who enters it is bound to that referrer,
for good (the first binding wins). When the invitee pays their first order, the referrer earns
one reward; later orders, repeated payment notices and racing notices earn nothing more.
What the reward is (a coupon, points) is the caller's choice: the store records that it is owed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol, runtime_checkable

from assistant.commerce.models import as_utc


class BindStatus(str, Enum):
    """Outcome of a shopper entering an invite code."""

    BOUND = "bound"
    # Bound before (to this referrer or another): the first binding stands.
    ALREADY_BOUND = "already_bound"
    UNKNOWN_CODE = "unknown_code"
    SELF_INVITE = "self_invite"
    # The code's owner was invited by this shopper; A invites B invites A is not a referral.
    CIRCULAR = "circular"
    # The shopper has paid an order already: referrals are for new customers.
    EXISTING_CUSTOMER = "existing_customer"


@dataclass(frozen=True)
class BindResult:
    """The outcome and the shopper's referrer, when they have one."""

    status: BindStatus
    referrer_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when this call bound the shopper."""
        return self.status is BindStatus.BOUND


@dataclass(frozen=True)
class ReferralReward:
    """A reward the referrer earned because the invitee paid ``order_id``, their first order."""

    referrer_id: str
    invitee_id: str
    order_id: str
    granted_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "granted_at", as_utc(self.granted_at, "granted_at"))


class RewardStatus(str, Enum):
    """Outcome of telling the referral store that a shopper paid an order."""

    # This order is the invitee's first: the referrer's reward was granted by this call.
    GRANTED = "granted"
    # The reward for this invitee already exists (this same order reported again).
    ALREADY_GRANTED = "already_granted"
    # The shopper paid an earlier order; only the first paid order counts.
    NOT_FIRST_ORDER = "not_first_order"
    # The shopper was not invited by anyone.
    NOT_REFERRED = "not_referred"


@dataclass(frozen=True)
class RewardResult:
    """The outcome and the reward it concerns (set for GRANTED and ALREADY_GRANTED)."""

    status: RewardStatus
    reward: ReferralReward | None = None

    @property
    def granted(self) -> bool:
        """True only for the one call that granted the reward: announce it on this one."""
        return self.status is RewardStatus.GRANTED


@runtime_checkable
class ReferralService(Protocol):
    """Referrals as the assistant uses them. ``SqlReferrals`` implements it."""

    def invite_code(self, shopper_id: str, now: datetime | None = None) -> str:
        """The shopper's own invite code: made on first request, the same ever after."""
        ...

    def register_invitee(
        self, code: str, invitee_id: str, now: datetime | None = None
    ) -> BindResult:
        """Bind a shopper to the owner of ``code``; the first binding wins."""
        ...

    def referrer_of(self, invitee_id: str) -> str | None:
        """Who invited this shopper, or None."""
        ...

    def order_paid(
        self, shopper_id: str, order_id: str, now: datetime | None = None
    ) -> RewardResult:
        """Report a paid order (of any shopper, referred or not).

        The referrer's reward is granted on the invitee's first paid order only, exactly once:
        the same order reported again, or reported by several instances at once, yields one
        GRANTED and otherwise ALREADY_GRANTED. Reporting every paid order also lets the store
        refuse invite codes from shoppers who have bought before.
        """
        ...

    def rewards_of(self, referrer_id: str) -> list[ReferralReward]:
        """The rewards a referrer earned, oldest first."""
        ...
