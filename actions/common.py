"""Small readers of the Rasa tracker that every action uses."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from assistant.language import Language, detect_language
from assistant.runtime import services

log = logging.getLogger(__name__)


def language_of(tracker: Tracker) -> Language:
    """The language of the shopper's latest message (falls back to the conversation's)."""
    previous = tracker.get_slot("language")
    default: Language = "en" if previous == "en" else "zh"
    return detect_language(tracker.latest_message.get("text") or "", default=default)


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def say(
    dispatcher: CollectingDispatcher, message: str, *, private: bool = False, **custom: Any
) -> None:
    """Send ``message``; ``private`` asks the group layer to deliver it to the shopper only."""
    payload = {"private": True, **custom} if private else dict(custom)
    dispatcher.utter_message(text=message, json_message=payload or None)


def note_unanswered(tracker: Tracker, question: str, language: Language, reason: str) -> None:
    """Keep a question the knowledge base could not answer for staff (console inbox).

    Losing this note must never cost the shopper their answer, so failures are only logged.
    """
    app = services()
    if app.unanswered is None or not question.strip():
        return
    kb = app.kb_name_for(tracker.sender_id)
    best_id, best_score = None, None
    try:
        hits = app.knowledge_for(tracker.sender_id).search(question, k=1)
        if hits:
            best_id, best_score = hits[0].id, hits[0].similarity
        app.unanswered.record(
            kb, tracker.sender_id, question, language, reason, best_score, best_id
        )
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not record an unanswered question")
