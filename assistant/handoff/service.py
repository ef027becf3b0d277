"""The staff queue of hand-offs: start one for a shopper, list and move it on, find overdue ones."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from assistant.commerce.interfaces import HandoffStore
from assistant.commerce.models import HandoffRequest
from assistant.language import Language

# Why a hand-off started; the console shows it and the opening sentence depends on it.
REASONS: Final[tuple[str, ...]] = (
    "shopper_request",
    "offer_accepted",
    "repeated_failure",
    "low_confidence",
    "anger",
)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class UnknownHandoff(LookupError):
    """No hand-off with that id."""


class HandoffClosed(RuntimeError):
    """The hand-off was closed already; staff can no longer reply through it."""


@dataclass(frozen=True)
class Shopper:
    """Where a conversation lives, so staff can answer in the same chat or privately."""

    platform: str
    chat_id: str
    user_id: str
    user_name: str
    chat_type: str = "group"

    @classmethod
    def of(cls, conversation_id: str, metadata: Mapping[str, Any] | None = None) -> Shopper:
        """From the message metadata the gateway channel keeps, else from the conversation id
        (``platform:chat_id:user_id``; a chat id may itself contain colons)."""
        platform, _, rest = conversation_id.partition(":")
        chat_id, _, user_id = rest.rpartition(":")
        meta = metadata or {}
        return cls(
            platform=str(meta.get("platform") or platform),
            chat_id=str(meta.get("chat_id") or chat_id),
            user_id=str(meta.get("user_id") or user_id),
            user_name=str(meta.get("user_name") or meta.get("user_id") or user_id),
            chat_type="private" if meta.get("chat_type") == "private" else "group",
        )

    @property
    def person_id(self) -> str:
        """The same person across the groups of one platform."""
        return f"{self.platform}:{self.user_id}"


class HandoffService:
    """Hand-offs over a :class:`HandoffStore`: the lifecycle, waiting times and escalation."""

    def __init__(
        self,
        store: HandoffStore,
        *,
        escalate_after: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.escalate_after = escalate_after
        self._clock = clock

    def start(
        self,
        conversation_id: str,
        shopper: Shopper,
        *,
        reason: str,
        language: Language,
        text: str,
    ) -> HandoffRequest:
        """Queue the shopper for staff (or return the request already waiting)."""
        if reason not in REASONS:
            raise ValueError(f"unknown hand-off reason {reason!r}; expected one of {REASONS}")
        return self.store.request_handoff(
            conversation_id,
            reason=reason,
            language=language,
            text=text,
            platform=shopper.platform,
            chat_id=shopper.chat_id,
            user_id=shopper.user_id,
            user_name=shopper.user_name,
            chat_type=shopper.chat_type,
        )

    def queue(self, *, closed: int = 0) -> list[HandoffRequest]:
        """Open requests first (escalated, then longest waiting), then up to ``closed`` closed."""
        waiting = sorted(
            self.store.open_handoffs(),
            key=lambda r: (not r.escalated, r.answered_at is not None, r.created_at),
        )
        return waiting + (self.store.recent_closed_handoffs(closed) if closed else [])

    def get(self, handoff_id: int) -> HandoffRequest:
        found = self.store.get_handoff(handoff_id)
        if found is None:
            raise UnknownHandoff(f"no hand-off with id {handoff_id}")
        return found

    def get_open(self, handoff_id: int) -> HandoffRequest:
        """The request, refused with :class:`HandoffClosed` once it is closed."""
        found = self.get(handoff_id)
        if found.status == "closed":
            raise HandoffClosed(f"hand-off {handoff_id} was closed by {found.closed_by or 'staff'}")
        return found

    def claim(self, handoff_id: int, actor: str) -> HandoffRequest:
        self.get_open(handoff_id)
        self.store.claim_handoff(handoff_id, actor)
        return self.get(handoff_id)

    def answered(self, handoff_id: int, actor: str) -> HandoffRequest:
        """Record a staff reply (the first one stops the waiting clock)."""
        self.store.answer_handoff(handoff_id, actor)
        return self.get(handoff_id)

    def close(self, handoff_id: int, actor: str) -> HandoffRequest:
        self.get_open(handoff_id)
        if not self.store.close_handoff(handoff_id, actor):
            raise HandoffClosed(f"hand-off {handoff_id} was closed meanwhile")
        return self.get(handoff_id)

    def waiting_seconds(self, request: HandoffRequest) -> float:
        return request.waiting_seconds(self._clock())

    def overdue(self, request: HandoffRequest) -> bool:
        """Still unanswered after ``escalate_after``."""
        return (
            request.status == "open"
            and request.answered_at is None
            and self.waiting_seconds(request) >= self.escalate_after.total_seconds()
        )

    def escalate_overdue(self) -> list[HandoffRequest]:
        """Mark every overdue, not yet escalated request escalated; returns those this call
        marked (another app instance marking the same one first means it is not returned)."""
        marked = []
        for request in self.store.open_handoffs():
            if request.escalated or not self.overdue(request):
                continue
            if self.store.escalate_handoff(request.id):
                marked.append(self.get(request.id))
        return marked
