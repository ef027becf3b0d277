"""What the assistant needs from an order system and a staff hand-off queue, backend-neutral."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from assistant.commerce.models import HandoffRequest, Order
from assistant.language import Language


@runtime_checkable
class OrderStore(Protocol):
    """Orders by id. The SQL store implements it; a brand's own order system can too."""

    def get_order(self, order_id: str) -> Order | None:
        """Return the order with exactly this canonical id (``DD`` + 12 digits), or None."""
        ...

    def add_orders(self, orders: Iterable[Order]) -> None:
        """Store orders; an order whose id already exists replaces the stored one whole."""
        ...

    def count_orders(self) -> int:
        """How many orders are stored."""
        ...


@runtime_checkable
class HandoffStore(Protocol):
    """The queue of shoppers waiting for a person."""

    def request_handoff(
        self,
        conversation_id: str,
        *,
        reason: str,
        language: Language,
        text: str,
        platform: str = "",
        chat_id: str = "",
        user_id: str = "",
        user_name: str = "",
        chat_type: str = "group",
    ) -> HandoffRequest:
        """Record that this conversation wants a person and return the open request.

        A conversation has at most one open request: asking again returns the one already
        waiting, so staff see each shopper once.
        """
        ...

    def open_handoffs(self) -> list[HandoffRequest]:
        """Requests still waiting for staff, oldest first."""
        ...

    def recent_closed_handoffs(self, limit: int = 50) -> list[HandoffRequest]:
        """Requests staff closed, most recently closed first."""
        ...

    def get_handoff(self, handoff_id: int) -> HandoffRequest | None:
        """The request with this id, open or closed."""
        ...

    def open_handoff_for(self, conversation_id: str) -> HandoffRequest | None:
        """This conversation's request that is not closed yet, if any."""
        ...

    def claim_handoff(self, handoff_id: int, actor: str) -> bool:
        """``actor`` takes an open, unclaimed request; True if this call took it."""
        ...

    def answer_handoff(self, handoff_id: int, actor: str) -> bool:
        """Record the first staff reply to an open request; True if this call recorded it."""
        ...

    def escalate_handoff(self, handoff_id: int) -> bool:
        """Mark an open request escalated; True only for the call that did (once per request)."""
        ...

    def close_handoff(self, handoff_id: int, actor: str | None = None) -> bool:
        """Close an open request; True if this call closed it."""
        ...
