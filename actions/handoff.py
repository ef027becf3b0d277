"""The shopper asks for a person: record a handoff request and tell them."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, latest_text, say
from assistant.runtime import services
from assistant.texts import text


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        reason = "offer_accepted" if tracker.get_slot("human_offered") else "shopper_request"
        request = services().commerce.request_handoff(
            tracker.sender_id, reason=reason, language=language, text=latest_text(tracker)
        )
        say(dispatcher, text("handoff_recorded", language, ticket=request.id), handoff=request.id)
        return [SlotSet("human_offered", False)]


class ActionDeclineHuman(Action):
    def name(self) -> str:
        return "action_decline_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        say(dispatcher, text("handoff_declined", language_of(tracker)))
        return [SlotSet("human_offered", False)]
