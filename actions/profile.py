"""The shopper's skin profile across sessions and groups: asked for consent once, then kept.

Not actions of their own: the consultation calls :func:`after_consultation` after it
recommends, the affirm/deny dispatcher calls :func:`on_consent` while ``awaiting`` is
``"profile_consent"``, and ``action_read_message`` fills empty skin slots from
:func:`profile_slot_values`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, say
from assistant.advisor.products import joined
from assistant.language import Language
from assistant.profiles.allergies import allergy_names, find_allergies
from assistant.profiles.consent import CONSENT_VERSION, Consent
from assistant.profiles.identity import NotAPerson, person_of
from assistant.profiles.store import ProfileStore, ShopperProfile, StoredProfile
from assistant.runtime import services
from assistant.texts import text
from assistant.vocabulary import CONCERN_BY_VALUE, SKIN_TYPE_BY_VALUE, display, find_skin_types

log = logging.getLogger(__name__)

# The consultation's slots a profile fills; deleting one's data resets them.
PROFILE_SLOTS = ("skin_type", "concern", "sensitive", "pregnant_or_nursing")
# Marks the consent notice among the bot's messages, so a "no" is not asked again in the chat.
CONSENT_NOTICE = "profile_consent"


def person_id_of(tracker: Tracker) -> str | None:
    """``platform:user_id`` of the conversation's shopper (None for an id of another shape)."""
    try:
        return person_of(tracker.sender_id)
    except NotAPerson:
        return None


def _store() -> ProfileStore | None:
    return services().profiles


def _user_texts(tracker: Tracker) -> list[str]:
    return [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]


def profile_from_tracker(tracker: Tracker) -> ShopperProfile:
    """What this conversation learned: the consultation's slots and any allergy mentioned."""
    concerns = tracker.get_slot("concern") or []
    allergies = [a for message in _user_texts(tracker) for a in find_allergies(message)]
    return ShopperProfile(
        skin_type=tracker.get_slot("skin_type"),
        concerns=tuple(str(c) for c in (concerns if isinstance(concerns, list) else [concerns])),
        sensitive=tracker.get_slot("sensitive"),
        allergies=tuple(dict.fromkeys(allergies)),
        pregnant_or_nursing=tracker.get_slot("pregnant_or_nursing"),
        language=language_of(tracker),
    )


def describe(profile: ShopperProfile, language: Language) -> str:
    """ "油皮、痘痘、易敏感、对香精过敏" / "oily skin, breakouts, …" for the shopper."""
    parts = []
    if profile.skin_type:
        parts.append(display(profile.skin_type, language, SKIN_TYPE_BY_VALUE))
    parts += [display(c, language, CONCERN_BY_VALUE) for c in profile.concerns if c != "general"]
    if profile.sensitive and profile.skin_type != "sensitive":
        parts.append("易敏感" if language == "zh" else "easily irritated")
    if profile.pregnant_or_nursing:
        parts.append("孕期/哺乳期" if language == "zh" else "pregnant or breastfeeding")
    if profile.allergies:
        names = joined(allergy_names(profile.allergies, language), language)
        parts.append(text("profile_allergies", language, names=names))
    return joined(parts, language) or text("profile_none", language)


def _notice_shown(tracker: Tracker) -> bool:
    for event in tracker.events:
        if event.get("event") == "bot":
            custom = (event.get("data") or {}).get("custom") or {}
            if isinstance(custom, dict) and custom.get("notice") == CONSENT_NOTICE:
                return True
    return False


def after_consultation(tracker: Tracker, dispatcher: CollectingDispatcher) -> list[EventType]:
    """After a recommendation: keep a consented profile current, or ask for consent once.

    A shopper who said no is not asked again in the same chat. Failing to save never costs the
    shopper the recommendation they already have, so store errors are only logged.
    """
    store, person = _store(), person_id_of(tracker)
    if store is None or person is None:
        return []
    language = language_of(tracker)
    try:
        if store.consented(person) is not None:
            if store.update(person, profile_from_tracker(tracker)):
                say(dispatcher, text("profile_updated", language))
            return []
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not update a shopper profile")
        return []
    if _notice_shown(tracker):
        return []
    say(dispatcher, text("profile_consent_ask", language), notice=CONSENT_NOTICE)
    return [SlotSet("awaiting", "profile_consent")]


def on_consent(tracker: Tracker, dispatcher: CollectingDispatcher, yes: bool) -> list[EventType]:
    """The shopper answered the consent notice: store the profile with the consent, or not."""
    language = language_of(tracker)
    done: list[EventType] = [SlotSet("awaiting", None)]
    store, person = _store(), person_id_of(tracker)
    if not yes or store is None or person is None:
        say(dispatcher, text("profile_declined", language))
        return done
    consent = Consent(datetime.now(timezone.utc), CONSENT_VERSION, tracker.sender_id)
    try:
        store.grant(person, profile_from_tracker(tracker), consent)
    except Exception:  # noqa: BLE001 - the shopper gets a clear message instead
        log.exception("could not store a consented shopper profile")
        say(dispatcher, text("privacy_failed", language))
        return done
    say(dispatcher, text("profile_saved", language))
    return done


def stored_profile(tracker: Tracker) -> StoredProfile | None:
    """The shopper's consented, saved profile, if any."""
    store, person = _store(), person_id_of(tracker)
    if store is None or person is None:
        return None
    try:
        return store.consented(person)
    except Exception:  # noqa: BLE001 - a profile is a convenience; the chat goes on without it
        log.exception("could not read a shopper profile")
        return None


def profile_slot_values(tracker: Tracker) -> dict[str, Any]:
    """Slot values from the shopper's saved profile, when this chat knows nothing of their skin.

    Anything the current message says itself wins: its skin type is left for the form to read.
    """
    if any(tracker.get_slot(slot) is not None for slot in PROFILE_SLOTS):
        return {}
    stored = stored_profile(tracker)
    if stored is None:
        return {}
    profile = stored.profile
    values: dict[str, Any] = {
        "concern": list(profile.concerns) or None,
        "sensitive": profile.sensitive,
        "pregnant_or_nursing": profile.pregnant_or_nursing,
    }
    if not find_skin_types(tracker.latest_message.get("text") or ""):
        values["skin_type"] = profile.skin_type
    return {slot: value for slot, value in values.items() if value is not None}


def remembered_profile_note(tracker: Tracker, language: Language) -> str | None:
    """ "按你上次保存的档案:油皮、痘痘…" when the consultation runs on the saved profile.

    None when the shopper told their skin type in this chat: then the answer is theirs, not
    the archive's.
    """
    stored = stored_profile(tracker)
    if stored is None or tracker.get_slot("skin_type") != stored.profile.skin_type:
        return None
    if any(find_skin_types(message) for message in _user_texts(tracker)):
        return None
    return text("profile_remembered", language, profile=describe(stored.profile, language))
