"""After-sales decisions: which kind of claim a shopper makes, whether their verified order
qualifies, tickets created and looked up for their own person only, photos kept with them."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from assistant.aftersales.store import (
    OpenTicketExists,
    Photo,
    SqlTickets,
    Ticket,
)
from assistant.commerce.models import Order
from assistant.commerce.returns import ReturnAssessment, ReturnRules, assess_return
from assistant.messages import person_of

_QUALITY_WORDS: Final = re.compile(
    r"质量|破损|破了|坏了|损坏|压坏|碎了|漏液|漏了|过敏|变质|发霉|瑕疵|有问题|"
    r"damaged|broken|defect|faulty|leak|crack|allerg|mould|mold",
    re.IGNORECASE,
)
_EXCHANGE_WORDS: Final = re.compile(r"换货|换一|换个|换成|调换|exchange|swap", re.IGNORECASE)
_TICKET_ID: Final = re.compile(r"(?<![A-Za-z0-9])SH\d{11,}(?!\d)", re.IGNORECASE)


def claim_kind(text: str) -> str:
    """``quality`` for a faulty or damaged item, ``exchange`` for a swap, else ``return``."""
    if _QUALITY_WORDS.search(text):
        return "quality"
    if _EXCHANGE_WORDS.search(text):
        return "exchange"
    return "return"


def ticket_id_in(text: str) -> str | None:
    """A ticket id written in ``text`` (``SH20261126001``), upper-cased."""
    match = _TICKET_ID.search(text)
    return match.group(0).upper() if match else None


@dataclass(frozen=True)
class Submission:
    """What came of a request: a new ticket, the order's open one, or none (not eligible)."""

    assessment: ReturnAssessment
    ticket: Ticket | None = None
    created: bool = False


class AfterSales:
    """Tickets for verified orders, checked against the brand's return rules."""

    def __init__(self, tickets: SqlTickets) -> None:
        self.tickets = tickets

    @staticmethod
    def assess(order: Order, rules: ReturnRules, now: datetime, kind: str) -> ReturnAssessment:
        """Quality claims get the longer window and may be opened; returns and exchanges are
        no-reason returns (unopened, within the short window)."""
        return assess_return(order, rules, now, quality_issue=kind == "quality")

    def submit(
        self,
        order: Order,
        rules: ReturnRules,
        now: datetime,
        *,
        conversation_id: str,
        kind: str,
        reason: str,
    ) -> Submission:
        """A ticket for ``order`` if it qualifies and has no open one; the order's open ticket
        if it has one; no ticket (with the assessment saying why) otherwise."""
        assessment = self.assess(order, rules, now, kind)
        if not assessment.eligible:
            return Submission(assessment)
        try:
            ticket = self.tickets.create(
                order_id=order.order_id,
                person=person_of(conversation_id),
                conversation_id=conversation_id,
                kind=kind,
                reason=reason,
            )
        except OpenTicketExists as existing:
            return Submission(assessment, existing.ticket, created=False)
        return Submission(assessment, ticket, created=True)

    def ticket_for(
        self, person: str, *, ticket_id: str | None = None, remembered: str | None = None
    ) -> Ticket | None:
        """The person's ticket: the one named, else the one remembered, else their newest.

        A ticket of someone else is never returned, named or not.
        """
        for candidate in (ticket_id, remembered):
            if candidate:
                ticket = self.tickets.find(candidate)
                if ticket is not None and ticket.person == person:
                    return ticket
                if candidate == ticket_id:
                    return None  # named explicitly: not theirs or not there, say so
        return self.tickets.latest_for(person)

    def open_ticket_of(self, person: str) -> Ticket | None:
        """Where the person's photos go: their newest open ticket."""
        return self.tickets.latest_for(person, open_only=True)

    def add_photo(self, ticket: Ticket, data: bytes, *, source: str) -> tuple[Photo, bool]:
        return self.tickets.add_photo(ticket.ticket_id, data, source=source)


_shared: dict[tuple[str, str], AfterSales] = {}
_shared_lock = threading.Lock()


def aftersales_for(app_services: Any) -> AfterSales:
    """The after-sales service of the running app: ``services.aftersales`` when the app built
    one, else one per database and data directory, created on first use."""
    built = getattr(app_services, "aftersales", None)
    if built is not None:
        return built
    settings = app_services.settings
    key = (settings.commerce_url, str(settings.data_dir))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = AfterSales(
                SqlTickets(settings.commerce_url, settings.data_dir / "tickets")
            )
        return _shared[key]
