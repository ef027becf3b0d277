"""What the brand's order system tells the assistant about orders, and what follows from it.

A paid order counts for the shopper's lifecycle stage and, when it is an invited shopper's first,
earns the referrer their reward: a coupon from ``referral.reward_campaign`` in ``campaigns.yml``.
Order systems deliver events at least once, sometimes twice at the same moment; the referral
store hands the reward out to exactly one delivery (``RewardResult.granted``), and only that one
issues the coupon.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from assistant.commerce.campaigns import Campaigns
from assistant.commerce.coupons import Coupon
from assistant.commerce.promotions_sql import SqlPromotions
from assistant.commerce.referrals import RewardStatus

logger = logging.getLogger("assistant.promotions")


@dataclass(frozen=True)
class PaidOutcome:
    """What a "paid" event did: the referral outcome, and the reward coupon if this call gave it."""

    order_id: str
    person_id: str
    referral: RewardStatus
    referrer_id: str | None = None
    reward_coupon: Coupon | None = None


class OrderEvents:
    """The entry point for order events (``POST /api/commerce/order-events``)."""

    def __init__(
        self,
        store: SqlPromotions,
        campaigns: Callable[[], Campaigns],
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._campaigns = campaigns
        self._clock = clock

    def paid(self, order_id: str, person_id: str, paid_at: datetime | None = None) -> PaidOutcome:
        """Record that ``person_id`` (``platform:user_id``) paid ``order_id``; safe to repeat."""
        if not order_id.strip() or not person_id.strip():
            raise ValueError("order_id and person_id must not be empty")
        now = paid_at or self._clock()
        result = self._store.order_paid(person_id, order_id, now)
        reward = result.reward
        outcome = PaidOutcome(
            order_id, person_id, result.status, reward.referrer_id if reward else None
        )
        if not result.granted or reward is None:
            return outcome
        coupon = self._reward_coupon(reward.referrer_id, now)
        logger.info(
            "referral reward granted",
            extra={"referrer": reward.referrer_id, "invitee": person_id, "order_id": order_id},
        )
        return PaidOutcome(
            order_id, person_id, result.status, reward.referrer_id, reward_coupon=coupon
        )

    def _reward_coupon(self, referrer_id: str, now: datetime) -> Coupon | None:
        campaign_id = self._campaigns().referral_reward
        if campaign_id is None:
            return None  # the reward is recorded; the brand hands it out its own way
        claim = self._store.coupons.claim(campaign_id, referrer_id, now)
        if claim.coupon is None:
            # Out of stock or over the limit: the reward row stays for staff to honour by hand.
            logger.error(
                "referral reward coupon not issued",
                extra={"referrer": referrer_id, "refusal": str(claim.refusal)},
            )
        return claim.coupon
