"""Whether an order can still be returned under the brand's policy, and until when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any, Final

from assistant.commerce.models import CHINA_TIME, Order, as_utc

# Return windows follow Chinese e-commerce practice (网络购买商品七日无理由退货暂行办法): they start
# the day after the parcel is signed for and end at midnight, China time.

# Reason codes, so actions can pick the right reply without parsing text.
WITHIN_NO_REASON_WINDOW: Final = "within_no_reason_window"
QUALITY_ISSUE_WINDOW: Final = "quality_issue_window"
NOT_PAID: Final = "not_paid"
NOT_DELIVERED_YET: Final = "not_delivered_yet"
WINDOW_EXPIRED: Final = "window_expired"
OPENED: Final = "opened"
CANCELLED: Final = "cancelled"
ALREADY_RETURNED: Final = "already_returned"


@dataclass(frozen=True)
class ReturnRules:
    """The numbers of a return policy: windows in days after delivery, and the unopened rule."""

    no_reason_days: int = 7
    quality_issue_days: int = 30
    requires_unopened_for_no_reason: bool = True

    def __post_init__(self) -> None:
        for name in ("no_reason_days", "quality_issue_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of days >= 0, got {value!r}")
        if not isinstance(self.requires_unopened_for_no_reason, bool):
            raise ValueError(
                "requires_unopened_for_no_reason must be true or false, "
                f"got {self.requires_unopened_for_no_reason!r}"
            )

    @classmethod
    def from_mapping(cls, rules: Mapping[str, Any] | None) -> ReturnRules:
        """Build from a policy record's ``rules`` mapping; missing keys keep their defaults.

        Keys the return check does not use are ignored, since the same mapping may carry rules
        for other parts of the policy. Wrong values raise ``ValueError`` naming the key.
        """
        rules = rules or {}
        known = ("no_reason_days", "quality_issue_days", "requires_unopened_for_no_reason")
        return cls(**{key: rules[key] for key in known if key in rules})


@dataclass(frozen=True)
class ReturnAssessment:
    """The answer for one order.

    ``reason`` is one of the codes above. ``deadline`` is when the window that was checked
    closes (also when it has already closed); ``days_left`` counts whole days after today that
    are still in the window (0 means today is the last day), and is None when it is not open.
    """

    eligible: bool
    reason: str
    deadline: datetime | None
    days_left: int | None


def return_deadline(delivered_at: datetime, days: int) -> datetime:
    """When a window of ``days`` days from this delivery closes (UTC)."""
    signed_on = as_utc(delivered_at, "delivered_at").astimezone(CHINA_TIME).date()
    closes_on = signed_on + timedelta(days=days + 1)
    return datetime.combine(closes_on, time(0), tzinfo=CHINA_TIME).astimezone(timezone.utc)


def assess_return(
    order: Order, rules: ReturnRules, now: datetime, *, quality_issue: bool = False
) -> ReturnAssessment:
    """Decide whether ``order`` can be returned at ``now``.

    ``quality_issue`` is the shopper's claim that the goods are faulty: it uses the longer
    window and ignores whether they were opened. Orders not delivered yet are not returns at
    all: unpaid ones can simply be left or cancelled, paid or shipped ones can be cancelled or
    refused at the door (``not_delivered_yet``).
    """
    now = as_utc(now, "now")
    if order.status == "cancelled":
        return ReturnAssessment(False, CANCELLED, None, None)
    if order.status == "returned":
        return ReturnAssessment(False, ALREADY_RETURNED, None, None)
    if order.status == "pending_payment":
        return ReturnAssessment(False, NOT_PAID, None, None)
    if order.status != "delivered" or order.delivered_at is None:
        return ReturnAssessment(False, NOT_DELIVERED_YET, None, None)

    days = rules.quality_issue_days if quality_issue else rules.no_reason_days
    deadline = return_deadline(order.delivered_at, days)
    if now >= deadline:
        return ReturnAssessment(False, WINDOW_EXPIRED, deadline, None)
    last_day = (deadline - timedelta(days=1)).astimezone(CHINA_TIME).date()
    days_left = (last_day - now.astimezone(CHINA_TIME).date()).days
    if quality_issue:
        return ReturnAssessment(True, QUALITY_ISSUE_WINDOW, deadline, days_left)
    if rules.requires_unopened_for_no_reason and order.opened:
        return ReturnAssessment(False, OPENED, deadline, days_left)
    return ReturnAssessment(True, WITHIN_NO_REASON_WINDOW, deadline, days_left)
