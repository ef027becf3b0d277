"""Skin consultation: learn skin type, concerns, sensitivity and pregnancy, build a morning and
evening routine, and refine it on follow-ups ("有便宜一点的吗", "换成无香的")."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import language_of, latest_text, say
from actions.profile import (
    after_consultation,
    profile_from_tracker,
    remembered_profile_note,
    stored_profile,
)
from assistant.advisor.consultation import SkinProfile
from assistant.advisor.ingredient_rules import IngredientRules, IngredientRulesError, rules_at
from assistant.advisor.products import field as rfield
from assistant.advisor.products import product_name
from assistant.advisor.refinement import (
    Refinement,
    describe_changes,
    parse_budget,
    parse_refinement,
)
from assistant.advisor.routine import RoutineRequest, build_routine
from assistant.advisor.routine_texts import routine_text
from assistant.analytics.links import links_text, tracked_links
from assistant.language import Language
from assistant.runtime import services
from assistant.vocabulary import find_concerns, find_contraindications, find_skin_types

log = logging.getLogger(__name__)

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


_NEGATION = re.compile(r"不|没|\bnot\b|\bno\b|n't", re.I)


def _slot_before_this_message(tracker: Tracker, name: str) -> Any:
    """The slot's value as it was before the shopper's latest message."""
    seen_message = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_message = True
        elif seen_message and event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
    return None


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
        message = latest_text(tracker)
        if value == "sensitive" and not find_skin_types(message) and _NEGATION.search(message):
            # "不敏感" / "not sensitive" answers the sensitivity question; the NLU model may still
            # tag "敏感" as a skin type. Keep the skin type the shopper gave before.
            return {"skin_type": _slot_before_this_message(tracker, "skin_type")}
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


def _rules() -> IngredientRules:
    return rules_at(services().settings.advisor.ingredient_rules)


def _products(tracker: Tracker) -> list[Any]:
    return services().knowledge_for(tracker.sender_id).records("product")


def _stated_preferences(tracker: Tracker) -> Refinement:
    """Budget and fragrance/alcohol wishes from the shopper's messages since the last
    recommendation ("油皮, 预算300以内"); the latest statement of each wins."""
    texts: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == ActionRecommendProducts.NAME:
            break
        if event.get("event") == "user" and event.get("text"):
            texts.append(str(event["text"]))
    budget = next((b for b in map(parse_budget, texts) if b is not None), None)
    found = [parse_refinement(t) for t in texts]
    return Refinement(
        budget=budget,
        fragrance_free=any(r.fragrance_free for r in found),
        alcohol_free=any(r.alcohol_free for r in found),
    )


def _remembered(tracker: Tracker, language: Language) -> tuple[set[str], str | None]:
    """Allergies this shopper told us (saved profile or this chat), and the "按你上次保存的档案"
    note when the consultation runs on their saved profile."""
    saved = stored_profile(tracker)
    allergies = set(profile_from_tracker(tracker).allergies)
    if saved is not None:
        allergies |= set(saved.profile.allergies)
    return allergies, remembered_profile_note(tracker, language)


def _with_tracked_links(
    tracker: Tracker, body: str, product_ids: list[str], language: Language
) -> str:
    """The reply with a tracked link per product when ``analytics.link_base`` is set, so staff
    analytics can count which recommendations shoppers open."""
    app = services()
    links = tracked_links(
        app.settings, tracker.sender_id, product_ids, app.kb_name_for(tracker.sender_id)
    )
    if not links:
        return body
    names = {str(rfield(p, "id")): product_name(p, language) for p in _products(tracker)}
    return body + "\n" + links_text(links, names, language)


def _rules_unavailable(dispatcher: CollectingDispatcher, language: Language) -> list[EventType]:
    # Without the rules nothing is known to be safe to offer: say so rather than guess.
    log.exception("ingredient rules cannot be used")
    say(dispatcher, routine_text("rules_unavailable", language))
    return []


class ActionRecommendProducts(Action):
    """Builds a morning and evening routine for the completed consultation, never against the
    ingredient rules or the shopper's conditions, and keeps it in the ``routine`` slot."""

    NAME = "action_recommend_products"

    def name(self) -> str:
        return self.NAME

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
        stated = _stated_preferences(tracker)
        allergies, note = _remembered(tracker, language)
        request = RoutineRequest(
            profile,
            budget=stated.budget,
            fragrance_free=stated.fragrance_free or "fragrance" in allergies,
            alcohol_free=stated.alcohol_free or "alcohol" in allergies,
        )
        try:
            routine = build_routine(_products(tracker), _rules(), request)
        except IngredientRulesError:
            return _rules_unavailable(dispatcher, language)
        body = "\n".join(part for part in (note, routine.render(language)) if part)
        body = _with_tracked_links(tracker, body, routine.product_ids, language)
        say(dispatcher, body, recommended=routine.product_ids)
        events: list[EventType] = [SlotSet("routine", routine.slot_value())]
        # With consent the profile is updated; without, the first-time consent notice is asked.
        return events + after_consultation(tracker, dispatcher)


class ActionRefineRoutine(Action):
    """Refines the last routine from a follow-up: cheaper, a budget, fragrance- or
    alcohol-free, morning or evening only; says what changed."""

    def name(self) -> str:
        return "action_refine_routine"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        previous = tracker.get_slot("routine")
        if not isinstance(previous, dict) or not previous.get("profile"):
            say(dispatcher, routine_text("need_consultation", language))
            return []
        refinement = parse_refinement(latest_text(tracker))
        if refinement.empty:
            say(dispatcher, routine_text("refine_unclear", language))
            return []
        request = refinement.apply(
            RoutineRequest.from_dict(previous), float(previous.get("total") or 0)
        )
        products = _products(tracker)
        try:
            routine = build_routine(products, _rules(), request)
        except IngredientRulesError:
            return _rules_unavailable(dispatcher, language)
        by_id = {str(rfield(p, "id")): p for p in products}
        changes = describe_changes(previous, refinement, routine, by_id, language)
        body = "\n".join(part for part in (changes, routine.render(language)) if part)
        body = _with_tracked_links(tracker, body, routine.product_ids, language)
        say(dispatcher, body, recommended=routine.product_ids)
        return [SlotSet("routine", routine.slot_value())]
