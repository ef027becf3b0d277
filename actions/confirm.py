"""A plain yes or no answers the question the assistant asked last.

Several journeys end with a yes/no question: a person? save your skin profile? delete your data?
file a return? The asking action sets the ``awaiting`` slot; this one action reads it, so Rasa
needs one rule per intent instead of a slot-conditioned rule per question.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.aftersales import on_ticket_confirm
from actions.common import language_of, say
from actions.handoff import start_handoff
from actions.privacy import on_delete_confirm
from actions.profile import on_consent
from assistant.texts import text

Handler = Callable[[Tracker, CollectingDispatcher, bool], Any]


def _human(tracker: Tracker, dispatcher: CollectingDispatcher, yes: bool) -> list[EventType]:
    if yes:
        return start_handoff(tracker, dispatcher, "offer_accepted")
    say(dispatcher, text("handoff_declined", language_of(tracker)))
    return []


# Each answers (tracker, dispatcher, yes) with events; some are coroutines, some plain.
HANDLERS: dict[str, Handler] = {
    "human": _human,
    "profile_consent": on_consent,
    "delete_data": on_delete_confirm,
    "return_ticket": on_ticket_confirm,
}


def awaiting_answer(tracker: Tracker) -> str | None:
    """The question a yes/no would answer now (the older ``human_offered`` flag included)."""
    awaiting = tracker.get_slot("awaiting")
    if awaiting in HANDLERS:
        return str(awaiting)
    return "human" if tracker.get_slot("human_offered") else None


class ActionConfirm(Action):
    """Acts on the shopper's affirm/deny for the pending question, or just listens on."""

    def name(self) -> str:
        return "action_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        yes = (tracker.latest_message.get("intent") or {}).get("name") == "affirm"
        pending = awaiting_answer(tracker)
        if pending is None:
            dispatcher.utter_message(response="utter_anything_else")
            return []
        answer = HANDLERS[pending](tracker, dispatcher, yes)
        events = list(await answer) if inspect.isawaitable(answer) else list(answer)
        # Answered: a later "好的" must not repeat it, whatever the handler returned.
        return [*events, SlotSet("awaiting", None), SlotSet("human_offered", False)]
