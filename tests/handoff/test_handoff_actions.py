"""The Rasa actions that start a hand-off, run in-process on the real services: the shopper is
told in their language, queued for staff with the right reason, and Rasa pauses them only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionRequestHuman
from actions.knowledge import ActionFallback
from assistant import runtime

GIBBERISH = "qwzx plorb vrenk"


@pytest.fixture(autouse=True)
def configured(services: Any) -> Any:
    runtime.configure(services)
    return services


def user(text: str, intent: str, chat: str = "demo-group", name: str = "小林") -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "entities": []},
        "metadata": {"platform": "web", "chat_id": chat, "user_id": "u", "user_name": name},
    }


def tracker(
    events: list[dict[str, Any]], slots: dict[str, Any] | None = None, sender: str = ""
) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    message = {**latest["parse_data"], "text": latest["text"]}
    sender = sender or f"web:demo-group:{uuid.uuid4().hex[:8]}"
    return Tracker(sender, slots or {}, message, events, False, None, {}, "action_listen")


async def run(action: Any, track: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, track, {})
    return dispatcher.messages, events


def queued(services: Any, sender: str) -> Any:
    return services.commerce.open_handoff_for(sender)


async def test_asking_for_a_person_queues_tells_and_pauses(configured: Any) -> None:
    track = tracker([user("转人工", "request_human")])
    messages, events = await run(ActionRequestHuman(), track)

    request = queued(configured, track.sender_id)
    assert request.reason == "shopper_request" and request.user_name == "小林"
    assert (request.platform, request.chat_id) == ("web", "demo-group")
    assert f"#{request.id}" in messages[0]["text"] and "人工" in messages[0]["text"]
    assert {"event": "pause", "timestamp": None} in events


async def test_english_complaint_is_an_angry_handoff(configured: Any) -> None:
    track = tracker([user("this is terrible, I want to complain", "complain")])
    messages, events = await run(ActionRequestHuman(), track)

    assert queued(configured, track.sender_id).reason == "anger"
    assert "sorry" in messages[0]["text"].lower() and "ticket" in messages[0]["text"]
    assert any(e["event"] == "pause" for e in events)


@pytest.mark.parametrize("slots", [{"human_offered": True}, {"awaiting": "human"}])
async def test_yes_to_the_offer_is_recorded_as_accepted(
    configured: Any, slots: dict[str, Any]
) -> None:
    track = tracker([user("好的", "affirm")], slots)
    await run(ActionRequestHuman(), track)
    assert queued(configured, track.sender_id).reason == "offer_accepted"


def failed_turn(text: str, intent: str) -> list[dict[str, Any]]:
    return [
        user(text, intent),
        {"event": "action", "name": "action_fallback"},
        {"event": "bot", "text": "抱歉,我没太理解", "data": {"custom": {"known": False}}},
        {"event": "action", "name": "action_listen"},
    ]


async def test_first_failure_offers_a_person_without_pausing(configured: Any) -> None:
    track = tracker([user(GIBBERISH, "out_of_scope")])
    messages, events = await run(ActionFallback(), track)
    assert "talk to a person?" in messages[0]["text"]
    assert not any(e["event"] == "pause" for e in events)
    assert queued(configured, track.sender_id) is None


@pytest.mark.parametrize(
    ("intent", "reason"), [("out_of_scope", "repeated_failure"), ("nlu_fallback", "low_confidence")]
)
async def test_second_failure_in_a_row_hands_over(
    configured: Any, intent: str, reason: str
) -> None:
    track = tracker([*failed_turn(GIBBERISH, intent), user("blorf snark", intent)])
    messages, events = await run(ActionFallback(), track)

    request = queued(configured, track.sender_id)
    assert request is not None and request.reason == reason
    assert "team" in messages[0]["text"] and f"#{request.id}" in messages[0]["text"]
    assert any(e["event"] == "pause" for e in events)


async def test_a_failure_after_an_answered_turn_only_offers(configured: Any) -> None:
    answered = [
        user("洗面奶多少钱", "ask_product"),
        {"event": "action", "name": "action_answer_product"},
        {"event": "bot", "text": "¥89", "data": {"custom": {"known": True}}},
    ]
    track = tracker([*answered, user(GIBBERISH, "out_of_scope")])
    _, events = await run(ActionFallback(), track)
    assert not any(e["event"] == "pause" for e in events)
