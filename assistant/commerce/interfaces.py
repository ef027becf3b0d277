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
        self, conversation_id: str, *, reason: str, language: Language, text: str
    ) -> HandoffRequest:
        """Record that this conversation wants a person and return the open request.

        A conversation has at most one open request: asking again returns the one already
        waiting, so staff see each shopper once.
        """
        ...

    def open_handoffs(self) -> list[HandoffRequest]:
        """Requests still waiting for staff, oldest first."""
        ...
