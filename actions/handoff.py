"""A person takes over: record the hand-off, tell the shopper, and pause the assistant for them.

``ConversationPaused`` silences Rasa for this conversation only (one shopper in one chat); the
rest of the group is still answered. Staff close the hand-off from the console, which resumes it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, latest_text, say
from assistant.handoff import HandoffService, Shopper
from assistant.handoff.texts import started_text
from assistant.runtime import services
from assistant.texts import text


def handoff_service() -> HandoffService:
    """The hand-off queue of the running app's commerce store."""
    app = services()
    return HandoffService(
        app.commerce,
        escalate_after=timedelta(minutes=app.settings.handoff.escalate_after_minutes),
    )


def _latest_metadata(tracker: Tracker) -> dict[str, Any]:
    """The gateway metadata (platform, chat, display name) of the shopper's latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return dict(event.get("metadata") or {})
    return dict(tracker.latest_message.get("metadata") or {})


def start_handoff(
    tracker: Tracker, dispatcher: CollectingDispatcher, reason: str
) -> list[EventType]:
    """Queue the shopper for staff with ``reason``, tell them, and pause their conversation.

    Returns the events to hand back to Rasa (callable from any action).
    """
    language = language_of(tracker)
    shopper = Shopper.of(tracker.sender_id, _latest_metadata(tracker))
    request = handoff_service().start(
        tracker.sender_id, shopper, reason=reason, language=language, text=latest_text(tracker)
    )
    say(dispatcher, started_text(reason, language, request.id), handoff=request.id)
    events: list[EventType] = [SlotSet("human_offered", False)]
    if tracker.get_slot("awaiting") == "human":
        events.append(SlotSet("awaiting", None))
    return [*events, ConversationPaused()]


def request_reason(tracker: Tracker) -> str:
    """anger for a complaint, offer_accepted after the assistant offered a person, else the
    shopper simply asked."""
    if (tracker.latest_message.get("intent") or {}).get("name") == "complain":
        return "anger"
    if tracker.get_slot("awaiting") == "human" or tracker.get_slot("human_offered"):
        return "offer_accepted"
    return "shopper_request"


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return start_handoff(tracker, dispatcher, request_reason(tracker))


class ActionDeclineHuman(Action):
    def name(self) -> str:
        return "action_decline_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        say(dispatcher, text("handoff_declined", language_of(tracker)))
        return [SlotSet("human_offered", False)]
