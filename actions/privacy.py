""" "导出我的数据" / "export my data" and "删除我的数据" / "delete my data" (PIPL rights)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, say
from actions.profile import PROFILE_SLOTS, describe, person_id_of
from assistant.profiles.privacy import PrivacyService
from assistant.profiles.store import ShopperProfile
from assistant.runtime import services
from assistant.texts import text

log = logging.getLogger(__name__)


def _privacy() -> PrivacyService | None:
    return services().privacy


class ActionExportMyData(Action):
    """Everything kept about the shopper, told privately with counts, and written to a file."""

    def name(self) -> str:
        return "action_export_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        privacy, person = _privacy(), person_id_of(tracker)
        if privacy is None or person is None:
            say(dispatcher, text("privacy_failed", language))
            return []
        try:
            data, path = privacy.write_export(person)
        except Exception:  # noqa: BLE001 - the shopper gets a clear message instead
            log.exception("could not export a shopper's data")
            say(dispatcher, text("privacy_failed", language))
            return []
        profile = data["profile"]
        consent = data["consent"]
        summary = text(
            "data_export",
            language,
            profile=describe(ShopperProfile(**_profile_fields(profile)), language)
            if profile
            else text("profile_none", language),
            consent=text("consent_given", language, date=consent["granted_at"][:10])
            if consent
            else text("profile_none", language),
            messages=len(data["messages"]),
            conversations=len(data["conversations"]),
            questions=len(data["unanswered_questions"]),
            handoffs=len(data["handoffs"]),
            reviews=len(data["compliance_reviews"]),
            file=path.name,
        )
        say(dispatcher, summary, private=True, export_file=path.name)
        return []


def _profile_fields(profile: dict[str, Any]) -> dict[str, Any]:
    return {
        **profile,
        "concerns": tuple(profile["concerns"]),
        "allergies": tuple(profile["allergies"]),
    }


class ActionDeleteMyData(Action):
    """Asks the shopper to confirm; :func:`on_delete_confirm` acts on the answer."""

    def name(self) -> str:
        return "action_delete_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        say(dispatcher, text("data_delete_ask", language_of(tracker)))
        return [SlotSet("awaiting", "delete_data")]


async def on_delete_confirm(
    tracker: Tracker, dispatcher: CollectingDispatcher, yes: bool
) -> list[EventType]:
    """The shopper answered the deletion question (``awaiting == "delete_data"``).

    Yes: delete profile and history everywhere, confirm the counts, and forget the skin slots
    of this chat too. No: nothing changes. Either way ``awaiting`` is cleared.
    """
    language = language_of(tracker)
    done: list[EventType] = [SlotSet("awaiting", None)]
    if not yes:
        say(dispatcher, text("data_delete_cancelled", language))
        return done
    privacy, person = _privacy(), person_id_of(tracker)
    if privacy is None or person is None:
        say(dispatcher, text("privacy_failed", language))
        return done
    try:
        report = await privacy.delete(
            person, requested_by=tracker.sender_id, current_conversation=tracker.sender_id
        )
    except Exception:  # noqa: BLE001 - one transaction: nothing was deleted, and they are told
        log.exception("could not delete a shopper's data")
        say(dispatcher, text("privacy_failed", language))
        return done
    counts = report.counts
    reply = text(
        "data_deleted",
        language,
        profile=counts["profile"],
        messages=counts["messages"],
        conversations=counts["conversations"],
        questions=counts["unanswered_questions"] + counts["unanswered_unlinked"],
        handoffs=counts["handoffs"],
    )
    if report.erase_failed:
        failed = len(report.erase_failed)
        reply += ("" if language == "zh" else " ") + text(
            "data_delete_incomplete", language, failed=failed
        )
    say(dispatcher, reply)
    return done + [SlotSet(slot, None) for slot in PROFILE_SLOTS]
