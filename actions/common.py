"""Small readers of the Rasa tracker that every action uses."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from assistant.language import Language, detect_language


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
