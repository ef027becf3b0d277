"""Answers from the knowledge base: product facts, FAQs, promotions and the polite fallback."""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, latest_text, note_unanswered, say
from assistant.advisor.products import field, localized
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
    """Out of scope or not understood: try the knowledge base first, then offer a person."""

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
        say(dispatcher, text("fallback", language), known=False)
        return _answer_events(tracker, [], offer_human=True)


class ActionAnswerPromotion(Action):
    """Offers running today, from the knowledge base's promotion records."""

    def name(self) -> str:
        return "action_answer_promotion"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        today = date.today()
        running = [
            p
            for p in services().knowledge_for(tracker.sender_id).records("promotion")
            if _as_date(field(p, "starts")) <= today <= _as_date(field(p, "ends"))
        ]
        if not running:
            say(dispatcher, text("no_promotions", language))
            return []
        lines = [text("promotions_intro", language)]
        for promotion in running:
            code = field(promotion, "code") or ""
            lines.append(
                text(
                    "promotion_item",
                    language,
                    title=localized(promotion, "title", language),
                    body=localized(promotion, "body", language),
                    code=text("promotion_code", language, code=code) if code else "",
                    ends=_as_date(field(promotion, "ends")).isoformat(),
                )
            )
        say(dispatcher, "\n".join(lines), sources=[str(field(p, "id")) for p in running])
        return []


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
