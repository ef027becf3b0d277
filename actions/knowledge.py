"""Answers from the knowledge base: product facts, FAQs and the polite fallback."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, latest_text, note_unanswered, say
from actions.handoff import start_handoff
from assistant.runtime import services
from assistant.texts import text


def _answer_events(
    tracker: Tracker, product_ids: list[str], *, offer_human: bool
) -> list[EventType]:
    events: list[EventType] = []
    if len(product_ids) == 1 and tracker.get_slot("last_product_id") != product_ids[0]:
        events.append(SlotSet("last_product_id", product_ids[0]))
    if bool(tracker.get_slot("human_offered")) != offer_human:
        events.append(SlotSet("human_offered", offer_human))
    return events


class ActionAnswerProduct(Action):
    """A product question answered with that product's facts, or honestly not known."""

    def name(self) -> str:
        return "action_answer_product"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        question = latest_text(tracker)
        answer = (
            services()
            .advisor_for(tracker.sender_id)
            .answer(question, language, context_product_id=tracker.get_slot("last_product_id"))
        )
        if not answer.known:
            note_unanswered(tracker, question, language, "low_score")
        say(dispatcher, answer.text, sources=answer.source_ids, known=answer.known)
        return _answer_events(tracker, answer.product_ids, offer_human=not answer.known)


class ActionFallback(Action):
    """Out of scope or not understood: try the knowledge base first, then offer a person; a
    second failure in a row hands over to a person directly instead of offering again."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        question = latest_text(tracker)
        answer = (
            services()
            .advisor_for(tracker.sender_id)
            .answer(question, language, context_product_id=tracker.get_slot("last_product_id"))
        )
        if answer.known:
            say(dispatcher, answer.text, sources=answer.source_ids, known=True)
            return _answer_events(tracker, answer.product_ids, offer_human=False)
        note_unanswered(tracker, question, language, "fallback")
        if _previous_turn_failed(tracker):
            # Low confidence: NLU could not tell what was meant (the nlu_fallback intent).
            low = (tracker.latest_message.get("intent") or {}).get("name") == "nlu_fallback"
            reason = "low_confidence" if low else "repeated_failure"
            return start_handoff(tracker, dispatcher, reason)
        say(dispatcher, text("fallback", language), known=False)
        return _answer_events(tracker, [], offer_human=True)


def _previous_turn_failed(tracker: Tracker) -> bool:
    """Did the shopper's previous message also end in a fallback without an answer?

    Read from the tracker's events (no slot): the turn before the latest user message ran
    ``action_fallback`` and its reply was marked ``known: False``.
    """
    users_seen = 0
    fallback = unknown = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            users_seen += 1
            if users_seen == 2:
                return fallback and unknown
        elif users_seen == 1:
            if kind == "action" and event.get("name") == "action_fallback":
                fallback = True
            custom = (event.get("data") or {}).get("custom") or {} if kind == "bot" else {}
            if custom.get("known") is False:
                unknown = True
    return False
