"""Skin consultation form: learn skin type, concerns, sensitivity and pregnancy, then recommend."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import language_of, latest_text, say
from assistant.advisor.consultation import SkinProfile, recommend
from assistant.runtime import services
from assistant.vocabulary import find_concerns, find_contraindications, find_skin_types

# Chinese has no word boundaries, so its denials are matched as prefixes; English as words.
_DENIAL = re.compile(
    r"^\s*(没有|没|无|不是|不会|不太|不|否|都没有|都不)"
    r"|^\s*(no|nope|not really|neither|none|nah)\b"
    r"|没有怀孕|没怀孕|不在孕期|不是孕|不哺乳|没在哺乳|没有哺乳|不敏感|不太敏感|不容易敏感|"
    r"not pregnant|not breastfeeding|not nursing|not sensitive|isn't sensitive|\bno\b|"
    r"没有特别|都还好|还好|没啥|没什么",
    re.I,
)
_NO_PARTICULAR_CONCERN = re.compile(
    r"没有|没啥|没什么|都还好|还好|都行|随便|无|nothing|none|no particular|not really|"
    r"just (basic|general)|general",
    re.I,
)


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _yes_no(tracker: Tracker, subject: re.Pattern[str]) -> bool | None:
    """Read a yes/no answer: explicit denial, a statement about ``subject``, or affirm/deny."""
    message = latest_text(tracker)
    if _DENIAL.search(message):
        return False
    if subject.search(message):
        return True
    intent = _intent(tracker)
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    return None


_SENSITIVE = re.compile(r"敏感|过敏|刺痛|泛红|sensitive|irritat|react|sting", re.I)
_PREGNANT = re.compile(r"怀孕|孕期|孕妇|备孕|哺乳|喂奶|pregnan|expecting|breastfeed|nursing", re.I)


class ValidateSkinConsultForm(FormValidationAction):
    """Fills the consultation slots from free text as well as from Rasa's entities."""

    def name(self) -> str:
        return "validate_skin_consult_form"

    async def extract_skin_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = find_skin_types(latest_text(tracker))
        return {"skin_type": found[0]} if found else {}

    async def extract_concern(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        message = latest_text(tracker)
        found = find_concerns(message)
        if found:
            return {"concern": found}
        if tracker.get_slot("requested_slot") == "concern" and (
            _NO_PARTICULAR_CONCERN.search(message) or _intent(tracker) == "deny"
        ):
            return {"concern": ["general"]}
        return {}

    async def extract_sensitive(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") == "sensitive":
            answer = _yes_no(tracker, _SENSITIVE)
            return {} if answer is None else {"sensitive": answer}
        if "sensitive" in find_contraindications(latest_text(tracker)):
            return {"sensitive": True}
        return {}

    async def extract_pregnant_or_nursing(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") == "pregnant_or_nursing":
            answer = _yes_no(tracker, _PREGNANT)
            return {} if answer is None else {"pregnant_or_nursing": answer}
        conditions = find_contraindications(latest_text(tracker))
        if "pregnancy" in conditions or "breastfeeding" in conditions:
            return {"pregnant_or_nursing": True}
        return {}

    async def validate_skin_type(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        result: dict[str, Any] = {"skin_type": value}
        if value == "sensitive":
            result["sensitive"] = True
        return result

    async def validate_concern(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        values = value if isinstance(value, list) else [value]
        return {"concern": list(dict.fromkeys(str(v) for v in values if v)) or None}


class ActionRecommendProducts(Action):
    """Recommends 1-3 products for the completed consultation, never against its conditions."""

    def name(self) -> str:
        return "action_recommend_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        profile = SkinProfile(
            skin_type=str(tracker.get_slot("skin_type") or "normal"),
            concerns=tuple(tracker.get_slot("concern") or ["general"]),
            sensitive=bool(tracker.get_slot("sensitive")),
            pregnant_or_nursing=bool(tracker.get_slot("pregnant_or_nursing")),
        )
        result = recommend(services().knowledge_for(tracker.sender_id), profile, language)
        say(dispatcher, result.text, recommended=result.product_ids)
        return []
