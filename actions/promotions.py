"""Promotions in the dialogue: offers running now, coupons, group-buys (拼团) and invite codes.

Thin: each action asks the ``PromotionDesk`` (assistant/commerce/promotion_desk.py) and says
what it answers. Codes go to the shopper privately, with a short note in the group. Database
work runs in a worker thread so a busy store never stalls other conversations.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABCMeta, abstractmethod
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, latest_text, say
from assistant.advisor.products import field, localized
from assistant.commerce.promotion_desk import DeskAnswer, PromotionDesk
from assistant.commerce.promotion_texts import promotion_text
from assistant.language import Language
from assistant.messages import chat_of, person_of
from assistant.runtime import services
from assistant.texts import text

log = logging.getLogger(__name__)


def _desk(dispatcher: CollectingDispatcher, language: Language) -> PromotionDesk | None:
    """The running desk, or None after telling the shopper offers are unavailable."""
    desk = services().promotions
    if desk is None:
        say(dispatcher, promotion_text("promotions_offline", language))
    return desk


def _reply(
    dispatcher: CollectingDispatcher, tracker: Tracker, answer: DeskAnswer
) -> list[EventType]:
    """Say the answer (its private part to the shopper alone) and remember its product."""
    if answer.private:
        # The group layer posts ``group_note`` in the group in place of its generic pointer.
        say(
            dispatcher, answer.private, private=True, group_note=answer.text, outcome=answer.outcome
        )
    else:
        say(dispatcher, answer.text, outcome=answer.outcome)
    if answer.product_id and tracker.get_slot("last_product_id") != answer.product_id:
        return [SlotSet("last_product_id", answer.product_id)]
    return []


async def _noted(desk: PromotionDesk, person_id: str) -> None:
    """Count the message as the person's activity; a lost note must never cost the reply."""
    try:
        await asyncio.to_thread(desk.note_activity, person_id)
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not record shopper activity")


class _DeskAction(Action, metaclass=ABCMeta):
    """An action that asks the desk one thing and says its answer: subclasses say what.

    Abstract, so rasa-sdk's executor (which registers every ``Action`` subclass) skips it.
    """

    @abstractmethod
    def ask(
        self, desk: PromotionDesk, tracker: Tracker, person: str, language: Language
    ) -> DeskAnswer:
        """The desk's answer for this person (runs in a worker thread)."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        desk = _desk(dispatcher, language)
        if desk is None:
            return []
        person = person_of(tracker.sender_id)
        answer = await asyncio.to_thread(self.ask, desk, tracker, person, language)
        await _noted(desk, person)
        return _reply(dispatcher, tracker, answer)


class ActionClaimCoupon(_DeskAction):
    """ "领券": the brand's running campaign coupons, once per person, codes sent privately."""

    def name(self) -> str:
        return "action_claim_coupon"

    def ask(
        self, desk: PromotionDesk, tracker: Tracker, person: str, language: Language
    ) -> DeskAnswer:
        brand = services().kb_name_for(tracker.sender_id)
        return desk.claim_coupon(person, brand, latest_text(tracker), language)


class ActionGroupBuy(_DeskAction):
    """ "发起拼团 / 参团 / 还差几人": start, join or report this group's group-buy."""

    def name(self) -> str:
        return "action_group_buy"

    def ask(
        self, desk: PromotionDesk, tracker: Tracker, person: str, language: Language
    ) -> DeskAnswer:
        message = latest_text(tracker)
        # A product entity the NLU found counts as named in the message.
        entity = tracker.get_slot("product")
        return desk.group_buy(
            chat_of(tracker.sender_id),
            person,
            services().kb_name_for(tracker.sender_id),
            f"{message} {entity}" if entity and entity not in message else message,
            language,
            services().knowledge_for(tracker.sender_id),
            context_product_id=tracker.get_slot("last_product_id"),
        )


class ActionInviteCode(_DeskAction):
    """ "我的邀请码": the person's own stable invite code and how the reward works."""

    def name(self) -> str:
        return "action_invite_code"

    def ask(
        self, desk: PromotionDesk, tracker: Tracker, person: str, language: Language
    ) -> DeskAnswer:
        return desk.invite_code(person, language)


class ActionUseInviteCode(_DeskAction):
    """ "邀请码 7K3M9Q2P": bind the person to the code's owner, once, never to themselves."""

    def name(self) -> str:
        return "action_use_invite_code"

    def ask(
        self, desk: PromotionDesk, tracker: Tracker, person: str, language: Language
    ) -> DeskAnswer:
        return desk.use_invite_code(person, latest_text(tracker), language)


class ActionAnswerPromotion(Action):
    """Offers running today (the knowledge base's promotion records), then what the shopper's
    lifecycle stage is offered (lifecycle.yml)."""

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
        lines = [text("promotions_intro" if running else "no_promotions", language)]
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
        offer = await _stage_offer(tracker, language)
        if offer:
            lines.append(offer)
        say(dispatcher, "\n".join(lines), sources=[str(field(p, "id")) for p in running])
        return []


async def _stage_offer(tracker: Tracker, language: Language) -> str:
    """The lifecycle stage's offer for this shopper, or "" (the offers list stands alone)."""
    desk = services().promotions
    if desk is None:
        return ""
    person = person_of(tracker.sender_id)
    try:
        # The stage is read before this message counts as activity, or nobody is ever dormant.
        offer = await asyncio.to_thread(
            desk.stage_offer, person, services().kb_name_for(tracker.sender_id), language
        )
    except Exception:  # noqa: BLE001 - the running offers are still worth answering with
        log.exception("could not read the shopper's lifecycle offer")
        return ""
    await _noted(desk, person)
    return offer


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
