"""Group-buys (拼团): a shopper starts one in a chat, friends join, it forms or fails by a deadline.

A group-buy needs ``size`` shoppers (the starter counts) before ``deadline`` to get ``price``.
The join that takes the last seat forms it; a group-buy still short of people at the deadline
fails. Either way the outcome becomes one ``GroupBuyEvent`` for the app to announce in the chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Literal, Protocol, runtime_checkable

from assistant.commerce.models import as_money, as_utc

GroupBuyStatus = Literal["open", "formed", "failed"]


@dataclass(frozen=True)
class GroupBuy:
    """A group-buy as it stands; ``members`` in joining order, the starter first."""

    group_buy_id: str
    product_id: str
    chat_id: str
    starter_id: str
    size: int
    price: Decimal
    created_at: datetime
    deadline: datetime
    status: GroupBuyStatus
    members: tuple[str, ...]
    closed_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "price", as_money(self.price, "price"))
        object.__setattr__(self, "created_at", as_utc(self.created_at, "created_at"))
        object.__setattr__(self, "deadline", as_utc(self.deadline, "deadline"))
        if self.closed_at is not None:
            object.__setattr__(self, "closed_at", as_utc(self.closed_at, "closed_at"))
        object.__setattr__(self, "members", tuple(self.members))

    @property
    def seats_left(self) -> int:
        """How many more shoppers it needs (0 once formed)."""
        return max(self.size - len(self.members), 0)


class JoinStatus(str, Enum):
    """Outcome of a shopper's attempt to join."""

    JOINED = "joined"
    # Joined, and this shopper took the last seat: the group-buy formed.
    FORMED = "formed"
    ALREADY_JOINED = "already_joined"
    # Every seat is taken (the group-buy formed without this shopper).
    FULL = "full"
    # The deadline passed before it filled.
    EXPIRED = "expired"
    UNKNOWN_GROUP_BUY = "unknown_group_buy"


@dataclass(frozen=True)
class JoinResult:
    """The outcome and the group-buy as it now stands (None if it does not exist)."""

    status: JoinStatus
    group_buy: GroupBuy | None = None

    @property
    def ok(self) -> bool:
        """True when this call made the shopper a member."""
        return self.status in (JoinStatus.JOINED, JoinStatus.FORMED)


GroupBuyEventKind = Literal["formed", "failed"]


@dataclass(frozen=True)
class GroupBuyEvent:
    """An outcome to announce once in the chat: who is in, what it was for."""

    kind: GroupBuyEventKind
    group_buy_id: str
    chat_id: str
    product_id: str
    price: Decimal
    members: tuple[str, ...]
    at: datetime


@runtime_checkable
class GroupBuyService(Protocol):
    """Group-buys as the assistant uses them. ``SqlGroupBuys`` implements it."""

    def start(
        self,
        *,
        product_id: str,
        chat_id: str,
        starter_id: str,
        size: int,
        price: Decimal,
        deadline: datetime,
        now: datetime,
    ) -> GroupBuy:
        """Open a group-buy with the starter as its first member."""
        ...

    def join(self, group_buy_id: str, shopper_id: str, now: datetime) -> JoinResult:
        """Add the shopper, at most once; never more than ``size`` members, even under a race.

        The join that takes the last seat gets ``FORMED``; exactly one join can.
        """
        ...

    def get(self, group_buy_id: str) -> GroupBuy | None:
        """The group-buy with its members, or None."""
        ...

    def open_in_chat(self, chat_id: str, now: datetime) -> list[GroupBuy]:
        """Group-buys of this chat that can still be joined, soonest deadline first."""
        ...

    def claim_announcement(self, group_buy_id: str) -> bool:
        """Take the announcing of a closed group-buy's outcome: True for exactly one caller, and
        ``expire_due`` then leaves it out."""
        ...

    def expire_due(self, now: datetime) -> list[GroupBuyEvent]:
        """Fail the open group-buys whose deadline has passed and hand out outcomes to announce.

        Returns each formed or failed group-buy exactly once over all calls (and all app
        instances), so the caller can post it to the chat; call it on a timer, and right after
        a join that returned ``FORMED`` to announce without waiting.
        """
        ...
