"""Runs on every shopper message (custom slot mapping): language and order details from the text."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, latest_text
from actions.profile import profile_slot_values
from assistant.commerce.order_text import extract_order_id, extract_phone_digits
from assistant.messages import person_of
from assistant.runtime import services
from assistant.vocabulary import find_skin_types

log = logging.getLogger(__name__)

_ORDER_INTENTS = {"track_order", "return_request", "inform"}
_ANSWER_INTENTS = {"affirm", "deny"}


def _entities(tracker: Tracker) -> set[str]:
    """Entity names in the message; an order number or phone without a digit is no such thing
    (the model can mistake punctuation for one) and is left out."""
    found = set()
    for entity in tracker.latest_message.get("entities") or []:
        name, value = entity.get("entity"), str(entity.get("value") or "")
        if name in ("order_id", "phone") and not any(c.isdigit() for c in value):
            continue
        found.add(name)
    return found


async def _note_activity(conversation_id: str) -> None:
    """Every message counts as activity for the shopper's lifecycle stage (new / active /
    dormant / churned); losing one note must never cost the reply."""
    desk = getattr(services(), "promotions", None)
    if desk is None:
        return
    try:
        await asyncio.to_thread(desk.note_activity, person_of(conversation_id))
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not note shopper activity")


class ActionReadMessage(Action):
    """Sets ``language`` and the ``mentions_*`` flags every turn, and order details from text;
    in a chat that knows nothing of the shopper's skin yet, the skin slots from their profile.

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
        await _note_activity(tracker.sender_id)
        # A new chat (or another group) starts from the shopper's saved, consented profile.
        values.update(profile_slot_values(tracker))
        # A pending yes/no question lapses once the shopper talks about something else, so a
        # later "好的" cannot delete data or file a return they no longer mean.
        if intent not in _ANSWER_INTENTS:
            values.update({"awaiting": None, "human_offered": False})
        return [SlotSet(k, v) for k, v in values.items() if tracker.get_slot(k) != v]
