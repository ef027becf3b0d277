"""Handing a shopper over to brand staff: the queue, the console's reply and close, escalation.

The lifecycle is open → claimed → answered → closed (plus escalated when nobody answered in time);
the rows live in the commerce store's hand-off table. While a request is not closed, Rasa keeps
that one conversation paused, so the assistant is silent for that shopper only.
"""

from assistant.handoff.service import REASONS, HandoffService, Shopper
from assistant.handoff.texts import handoff_text

__all__ = ["REASONS", "HandoffService", "Shopper", "handoff_text"]
