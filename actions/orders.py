"""Order tracking and returns: verify order number + phone digits, then answer privately."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.aftersales import answer_return
from actions.common import language_of, latest_text, say
from assistant.advisor.orders import order_status_text
from assistant.advisor.products import localized
from assistant.commerce.order_text import (
    extract_phone_digits,
    normalize_order_id,
    normalize_phone_digits,
)
from assistant.commerce.returns import ReturnRules
from assistant.commerce.verification import VerificationStatus
from assistant.runtime import services
from assistant.texts import text

MAX_TRIES = 3
RETURNS_POLICY_ID = "POL-RETURNS"


def _failures(tracker: Tracker) -> int:
    return int(tracker.get_slot("verify_failures") or 0)


def _is_verified(tracker: Tracker) -> bool:
    verified = tracker.get_slot("verified_order_id")
    return bool(verified) and verified == tracker.get_slot("order_id")


class ValidateOrderForm(FormValidationAction):
    """Checks the order number and phone digits together; a wrong pair reveals nothing."""

    def name(self) -> str:
        return "validate_order_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if _is_verified(tracker) or _failures(tracker) >= MAX_TRIES:
            return []
        return domain_slots

    async def validate_order_id(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        order_id = normalize_order_id(str(value or ""))
        if order_id is None:
            say(dispatcher, text("order_bad_id", language_of(tracker)))
            return {"order_id": None}
        result: dict[str, Any] = {"order_id": order_id}
        # Digits proven for one order are not reused for another unless given again now.
        if (
            order_id != tracker.get_slot("verified_order_id")
            and not extract_phone_digits(latest_text(tracker))
            and tracker.get_slot("verified_order_id")
        ):
            result["phone"] = None
        return result

    async def validate_phone(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        digits = normalize_phone_digits(str(value or ""))
        if digits is None:
            say(dispatcher, text("order_bad_phone", language_of(tracker)))
            return {"phone": None}
        return {"phone": digits}

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().get_validation_events(dispatcher, tracker, domain)
        values = dict(tracker.slots)
        values.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
        order_id, digits = values.get("order_id"), values.get("phone")
        if not order_id or not digits or values.get("verified_order_id") == order_id:
            return events
        result = services().verifier.verify(order_id, digits, requester=tracker.sender_id)
        if result.status is VerificationStatus.VERIFIED:
            return [*events, SlotSet("verified_order_id", order_id), SlotSet("verify_failures", 0)]
        failures = (
            MAX_TRIES if result.status is VerificationStatus.LOCKED else (_failures(tracker) + 1)
        )
        if failures < MAX_TRIES:
            say(dispatcher, text("order_mismatch", language_of(tracker)))
        return [
            *events,
            SlotSet("order_id", None),
            SlotSet("phone", None),
            SlotSet("verify_failures", float(failures)),
        ]


_RETURN_WORDS = re.compile(
    r"退货|退款|退掉|退回|能退|可以退|换货|return|refund|send (it )?back", re.IGNORECASE
)


def _purpose(tracker: Tracker) -> str:
    """Why the order form ran: the last order request, by its intent or its return words."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent == "return_request" or _RETURN_WORDS.search(event.get("text") or ""):
            return "return_request"
        if intent == "track_order":
            return "track_order"
    return "track_order"


def _return_rules(tracker: Tracker) -> ReturnRules:
    policy = services().knowledge_for(tracker.sender_id).get(RETURNS_POLICY_ID)
    rules = getattr(policy, "rules", None) if policy is not None else None
    if isinstance(policy, dict):
        rules = policy.get("rules")
    return ReturnRules.from_mapping(rules)


class ActionOrderAnswer(Action):
    """After the order form: status (or return eligibility) privately, or offer a person."""

    def name(self) -> str:
        return "action_order_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        if not _is_verified(tracker):
            say(dispatcher, text("order_too_many_tries", language))
            return [SlotSet("verify_failures", 0.0), SlotSet("human_offered", True)]
        order = services().commerce.get_order(tracker.get_slot("verified_order_id"))
        if order is None:  # deleted since verification
            say(dispatcher, text("order_mismatch", language))
            return [SlotSet("verified_order_id", None)]
        if _purpose(tracker) == "return_request":
            # Eligibility privately, then the offer of an after-sales ticket when it qualifies.
            return answer_return(dispatcher, tracker, order, _return_rules(tracker), language)
        say(dispatcher, order_status_text(order, language), private=True, order_id=order.order_id)
        return []


class ActionAnswerReturn(Action):
    """Returns policy from the knowledge base; eligibility too when the order is verified."""

    def name(self) -> str:
        return "action_answer_return"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        policy = services().knowledge_for(tracker.sender_id).get(RETURNS_POLICY_ID)
        if policy is not None:
            say(dispatcher, localized(policy, "body", language), sources=[RETURNS_POLICY_ID])
        verified = tracker.get_slot("verified_order_id")
        order = services().commerce.get_order(verified) if verified else None
        if order is not None:
            return answer_return(dispatcher, tracker, order, _return_rules(tracker), language)
        say(dispatcher, text("return_ask_order", language))
        return []
