"""The services the app and its Rasa actions share, created once when the app starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.advisor.answers import Advisor
    from assistant.commerce.sql import SqlCommerce
    from assistant.commerce.verification import OrderVerifier
    from assistant.config import Settings


@dataclass
class Services:
    """One knowledge base, one commerce store, and what is built on them."""

    settings: Settings
    knowledge: Any
    advisor: Advisor
    commerce: SqlCommerce
    verifier: OrderVerifier
    # KnowledgeLibrary: every knowledge base, versioned writes (assistant.knowledge.library).
    library: Any = None
    # One advisor per knowledge base; a conversation uses the one its chat is bound to.
    advisors: dict[str, Advisor] = field(default_factory=dict)
    # UnansweredLog: shopper questions the knowledge base could not answer (console inbox).
    unanswered: Any = None
    # ProfileStore: shoppers' skin profiles, kept only with consent (assistant.profiles.store).
    profiles: Any = None
    # PrivacyService: "export / delete my data" (assistant.profiles.privacy).
    privacy: Any = None
    # PromotionDesk: coupons, group-buys, referrals, lifecycle offers (assistant.commerce).
    promotions: Any = None

    def kb_name_for(self, sender_id: str) -> str:
        """The knowledge base the conversation's chat is bound to."""
        return self.library.kb_for_conversation(sender_id) if self.library else "default"

    def knowledge_for(self, sender_id: str) -> Any:
        """The knowledge base a conversation may see: never another brand's."""
        if self.library is None:
            return self.knowledge
        return self.library.base_for_conversation(sender_id)

    def advisor_for(self, sender_id: str) -> Advisor:
        return self.advisors.get(self.kb_name_for(sender_id), self.advisor)


_current: Services | None = None


class ServicesNotReady(RuntimeError):
    """An action ran before the app configured its services."""


def configure(services: Services) -> None:
    global _current
    _current = services


def services() -> Services:
    """The running app's services; actions call this instead of building their own."""
    if _current is None:
        raise ServicesNotReady("the assistant app has not started its services yet")
    return _current
