"""Runs on every shopper message (custom slot mapping): language and order details from the text."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, latest_text
from assistant.commerce.order_text import extract_order_id, extract_phone_digits
from assistant.vocabulary import find_skin_types

_ORDER_INTENTS = {"track_order", "return_request", "inform"}


def _entities(tracker: Tracker) -> set[str]:
    return {e.get("entity") for e in tracker.latest_message.get("entities") or []}


class ActionReadMessage(Action):
    """Sets ``language`` and the ``mentions_*`` flags every turn, and order details from text.

    Rasa's entity extractor finds most order numbers; this catches what it misses
    ("dd 2025 1118 0042", full-width digits) with the same rules the verifier uses.
    """

    def name(self) -> str:
        return "action_read_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        entities = _entities(tracker)
        order_id = extract_order_id(text)
        values: dict[str, Any] = {
            "language": language_of(tracker),
            "mentions_order": bool(order_id) or "order_id" in entities,
            "mentions_skin": bool(find_skin_types(text)) or "skin_type" in entities,
        }
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in _ORDER_INTENTS or tracker.active_loop_name == "order_form":
            if order_id:
                values["order_id"] = order_id
            digits = extract_phone_digits(text)
            if digits:
                values["phone"] = digits
        return [SlotSet(k, v) for k, v in values.items() if tracker.get_slot(k) != v]
