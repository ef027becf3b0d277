"""The consultation actions in-process, as Rasa runs them: a routine after the form, and
follow-ups that refine it without asking everything again."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.consultation import ActionRecommendProducts, ActionRefineRoutine
from assistant import runtime
from tests import catalogue

OILY_ACNE = {"skin_type": "oily", "concern": ["acne"], "sensitive": False}
NORMAL_OILY = {"skin_type": "normal", "concern": ["oiliness"], "sensitive": False}


@pytest.fixture
def app(services: runtime.Services) -> Iterator[runtime.Services]:
    runtime.configure(services)
    yield services


def tracker(
    words: str,
    slots: dict[str, Any],
    history: tuple[str, ...] = (),
    previous: tuple[dict[str, Any], ...] = (),
) -> Tracker:
    sender = f"web:g1:u{uuid.uuid4().hex[:8]}"
    latest = {"text": words, "intent": {}, "entities": []}
    events = [
        *previous,
        *({"event": "user", "text": t} for t in history),
        {"event": "user", "text": words, "parse_data": latest},
    ]
    state = {"pregnant_or_nursing": False, **slots}
    return Tracker(sender, state, latest, events, False, None, {}, "action_listen")


async def run(action: Any, state: Tracker) -> tuple[dict[str, Any], dict[str, Any]]:
    """The action's first message and the ``routine`` slot it sets (if any)."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, state, {})
    routine = next((e["value"] for e in events if e.get("name") == "routine"), None)
    return dispatcher.messages[0], routine


async def recommend(slots: dict[str, Any], words: str = "没有", **kw: Any) -> dict[str, Any]:
    return (await run(ActionRecommendProducts(), tracker(words, slots, **kw)))[1]


async def test_recommendation_is_a_routine_kept_for_follow_ups(app) -> None:
    message, routine = await run(ActionRecommendProducts(), tracker("没有怀孕", OILY_ACNE))
    assert message["custom"]["recommended"] == routine["product_ids"]
    assert routine["profile"]["skin_type"] == "oily" and routine["budget"] is None
    assert set(routine["chosen"]) == {"am", "pm"}
    assert "早上:" in message["text"] and "晚上:" in message["text"]
    named = catalogue.product_names_in(message["text"])
    assert {p.id for p in named} >= set(routine["product_ids"])


async def test_budget_said_earlier_in_the_conversation_is_kept_to(app) -> None:
    routine = await recommend(OILY_ACNE, history=["油皮, 预算300以内", "痘痘"])
    assert routine["budget"] == 300 and 0 < routine["total"] <= 300
    # A budget from before the last recommendation belongs to that one, not this one.
    earlier = (
        {"event": "user", "text": "预算300以内"},
        {"event": "action", "name": "action_recommend_products"},
    )
    routine = await recommend(OILY_ACNE, previous=earlier)
    assert routine["budget"] is None


async def test_refine_without_a_routine_asks_for_the_consultation(app) -> None:
    message, routine = await run(ActionRefineRoutine(), tracker("有便宜一点的吗", {}))
    assert "肤质" in message["text"] and routine is None
    message, _ = await run(ActionRefineRoutine(), tracker("what about for night?", {}))
    assert "skin type" in message["text"]


async def test_cheaper_follow_up_keeps_the_profile_and_says_what_changed(app) -> None:
    first = await recommend(OILY_ACNE)
    message, routine = await run(
        ActionRefineRoutine(), tracker("有便宜一点的吗", {**OILY_ACNE, "routine": first})
    )
    assert routine["total"] < first["total"]
    assert routine["profile"] == first["profile"]
    assert set(routine["chosen"]["am"]) == set(first["chosen"]["am"])  # no step lost
    assert f"¥{first['total']:g} → ¥{routine['total']:g}" in message["text"]
    assert "→" in message["text"].split("\n")[1]  # a changed step, by name


async def test_fragrance_free_follow_up_swaps_fragranced_products(app) -> None:
    first = await recommend(NORMAL_OILY)
    fragranced = [i for i in first["product_ids"] if catalogue.record(i).fragrance_free is False]
    assert fragranced
    message, routine = await run(
        ActionRefineRoutine(), tracker("换成无香的", {**NORMAL_OILY, "routine": first})
    )
    assert routine["fragrance_free"] is True
    assert all(catalogue.record(i).fragrance_free is True for i in routine["product_ids"])
    assert "无香精" in message["text"]
    assert catalogue.record(fragranced[0]).name_zh in message["text"]  # what it replaced


async def test_night_follow_up_in_english_shows_the_evening_only(app) -> None:
    first = await recommend(OILY_ACNE)
    message, routine = await run(
        ActionRefineRoutine(), tracker("what about for night?", {**OILY_ACNE, "routine": first})
    )
    assert set(routine["chosen"]) == {"pm"}
    assert "Evening:" in message["text"] and "Morning:" not in message["text"]
    # The next follow-up stays on the night routine.
    _, cheaper = await run(
        ActionRefineRoutine(), tracker("cheaper?", {**OILY_ACNE, "routine": routine})
    )
    assert set(cheaper["chosen"]) == {"pm"}


async def test_a_follow_up_that_asks_nothing_gets_the_options(app) -> None:
    first = await recommend(OILY_ACNE)
    message, routine = await run(ActionRefineRoutine(), tracker("嗯嗯", {"routine": first}))
    assert "无香精" in message["text"] and routine is None


async def test_broken_rules_file_gives_a_clear_answer_not_a_traceback(
    app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "ingredient_rules.yml"
    broken.write_text("cautions:\n  - id: x\n    when: [tired]\n", encoding="utf-8")
    monkeypatch.setattr(app.settings.advisor, "ingredient_rules", broken)
    message, routine = await run(ActionRecommendProducts(), tracker("没有", OILY_ACNE))
    assert routine is None and "成分规则" in message["text"]


async def test_recommendations_carry_tracked_links_when_analytics_links_are_on(app) -> None:
    settings = app.settings.analytics
    before = settings.link_base
    settings.link_base = "https://shop.example.com"
    try:
        message, routine = await run(ActionRecommendProducts(), tracker("没有怀孕", OILY_ACNE))
    finally:
        settings.link_base = before
    links = re.findall(r"https://shop\.example\.com/go/\S+", message["text"])
    assert len(links) == len(set(routine["product_ids"])), message["text"]
    plain, _ = await run(ActionRecommendProducts(), tracker("没有怀孕", OILY_ACNE))
    assert "/go/" not in plain["text"]  # off by default: replies stay as they were
