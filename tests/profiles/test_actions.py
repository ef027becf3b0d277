"""The profile and privacy actions in-process, as Rasa would run them for a shopper."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.message import ActionReadMessage
from actions.privacy import ActionDeleteMyData, ActionExportMyData, on_delete_confirm
from actions.profile import after_consultation, on_consent, remembered_profile_note
from assistant import runtime
from assistant.groupchat.inbox import MessageInbox
from assistant.profiles.trackers import RasaTrackerEraser
from tests.groupchat.test_rules import message
from tests.profiles.conftest import FakeRasa

SKIN = {"skin_type": "oily", "concern": ["acne"], "sensitive": False, "pregnant_or_nursing": False}
PROFILE_SLOTS = ("skin_type", "concern", "sensitive", "pregnant_or_nursing")


@pytest.fixture
def app(services: runtime.Services, rasa: FakeRasa) -> Iterator[runtime.Services]:
    """The session's services, with Rasa's tracker API played by a local test server."""
    runtime.configure(services)
    real = services.privacy.eraser
    services.privacy.eraser = RasaTrackerEraser(rasa.url, timeout_seconds=5)
    yield services
    services.privacy.eraser = real


def shopper() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def tracker(
    sender: str,
    words: str = "",
    slots: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> Tracker:
    latest = {"text": words, "intent": {}, "entities": []}
    events = [*(history or []), {"event": "user", "text": words, "parse_data": latest}]
    return Tracker(sender, dict(slots or {}), latest, events, False, None, {}, "action_listen")


def said(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["text"] for m in dispatcher.messages]


def as_events(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    """The bot messages as they come back in the tracker's events on the next turn."""
    return [
        {"event": "bot", "text": m["text"], "data": {"custom": m.get("custom")}}
        for m in dispatcher.messages
    ]


async def read(state: Tracker) -> list[Any]:
    """What ``action_read_message`` sets on this turn."""
    return await ActionReadMessage().run(CollectingDispatcher(), state, {})


def slots_of(events: list[Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def consent(
    app: runtime.Services, sender: str, history: list[dict[str, Any]] | None = None
) -> None:
    """The shopper finishes a consultation in ``sender``'s chat and says yes to keeping it."""
    dispatcher = CollectingDispatcher()
    assert after_consultation(tracker(sender, "好", SKIN, history), dispatcher)
    on_consent(tracker(sender, "好", SKIN, history), CollectingDispatcher(), yes=True)


def test_consent_is_asked_once_and_nothing_is_kept_without_it(app: runtime.Services) -> None:
    user = shopper()
    chat = f"test:g1:{user}"
    dispatcher = CollectingDispatcher()

    events = after_consultation(tracker(chat, "没有怀孕", SKIN), dispatcher)

    assert events == [SlotSet("awaiting", "profile_consent")]
    assert "回复“好”保存" in said(dispatcher)[0] and "删除我的数据" in said(dispatcher)[0]
    assert app.profiles.get(f"test:{user}") is None

    no = CollectingDispatcher()
    assert on_consent(tracker(chat, "不用", SKIN), no, yes=False) == [SlotSet("awaiting", None)]
    assert said(no) == ["好的,不保存。你的肤质信息只用于这次推荐。"]
    assert app.profiles.get(f"test:{user}") is None

    again = CollectingDispatcher()
    assert after_consultation(tracker(chat, "再推荐", SKIN, as_events(dispatcher)), again) == []
    assert said(again) == []  # said no in this chat: not asked again


def test_the_notice_speaks_english_to_an_english_shopper(app: runtime.Services) -> None:
    dispatcher = CollectingDispatcher()
    after_consultation(tracker(f"test:g1:{shopper()}", "not pregnant", SKIN), dispatcher)
    assert 'Reply "yes" to save' in said(dispatcher)[0]


async def test_the_profile_follows_the_shopper_to_another_group(app: runtime.Services) -> None:
    user = shopper()
    history = [{"event": "user", "text": "我对酒精过敏", "parse_data": {}}]
    consent(app, f"test:g1:{user}", history)

    stored = app.profiles.get(f"test:{user}")
    assert stored is not None and stored.profile.allergies == ("alcohol",)

    # A new group of the same platform: the skin slots come from the saved profile.
    events = slots_of(await read(tracker(f"test:g2:{user}", "@澜屿小助手 推荐个精华")))
    assert {k: events[k] for k in PROFILE_SLOTS} == SKIN
    note = remembered_profile_note(tracker(f"test:g2:{user}", "推荐个精华", SKIN), "zh")
    assert note is not None and "油皮" in note and "痘痘" in note and "酒精" in note

    # What the shopper says now wins over the archive.
    events = slots_of(await read(tracker(f"test:g3:{user}", "我其实是干皮")))
    assert "skin_type" not in events and events["concern"] == ["acne"]
    # Another platform is another person.
    events = slots_of(await read(tracker(f"telegram:g1:{user}", "推荐个精华")))
    assert not set(PROFILE_SLOTS) & set(events)


def test_a_consented_profile_is_updated_with_a_short_note(app: runtime.Services) -> None:
    user = shopper()
    consent(app, f"test:g1:{user}")

    dispatcher = CollectingDispatcher()
    drier = {**SKIN, "skin_type": "dry"}
    assert after_consultation(tracker(f"test:g2:{user}", "干皮", drier), dispatcher) == []
    assert said(dispatcher) == ["已更新你的肤质档案。"]
    stored = app.profiles.get(f"test:{user}")
    assert stored is not None and stored.profile.skin_type == "dry"

    same = CollectingDispatcher()
    after_consultation(tracker(f"test:g2:{user}", "干皮", drier), same)
    assert said(same) == []  # nothing new, nothing said


def record(app: runtime.Services, user: str, chat: str, words: str) -> None:
    inbox = MessageInbox(app.settings.commerce_url)
    inbox.record(message(words, sender=user, chat=chat))
    inbox.engine.dispose()


async def test_export_is_private_and_holds_only_the_shoppers_data(app: runtime.Services) -> None:
    user, other = shopper(), shopper()
    consent(app, f"test:g1:{user}")
    record(app, user, "g1", "油皮长痘怎么办")
    record(app, user, "g2", "防晒推荐")
    record(app, other, "g1", "别人的问题")
    dispatcher = CollectingDispatcher()

    await ActionExportMyData().run(dispatcher, tracker(f"test:g2:{user}", "导出我的数据"), {})

    [reply] = dispatcher.messages
    assert reply["custom"]["private"] is True  # kept out of the group
    assert "聊天消息 2 条,来自 2 个群聊/会话" in reply["text"] and "油皮" in reply["text"]
    assert "订单" in reply["text"]
    exported = app.settings.data_dir / "exports" / reply["custom"]["export_file"]
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert [m["text"] for m in data["messages"]] == ["油皮长痘怎么办", "防晒推荐"]
    assert "别人的问题" not in exported.read_text(encoding="utf-8")


async def test_delete_asks_first_then_erases_everything(
    app: runtime.Services, rasa: FakeRasa
) -> None:
    user = shopper()
    consent(app, f"test:g1:{user}")
    record(app, user, "g1", "油皮长痘怎么办")
    record(app, user, "g2", "删除我的数据")
    here = f"test:g2:{user}"

    ask = CollectingDispatcher()
    events = await ActionDeleteMyData().run(ask, tracker(here, "删除我的数据"), {})
    assert events == [SlotSet("awaiting", "delete_data")]
    assert "回复“好”确认删除" in said(ask)[0] and "订单" in said(ask)[0]

    cancel = CollectingDispatcher()
    assert await on_delete_confirm(tracker(here, "不用", SKIN), cancel, yes=False) == [
        SlotSet("awaiting", None)
    ]
    assert said(cancel) == ["好的,已取消,你的数据没有删除。"]
    assert app.profiles.get(f"test:{user}") is not None

    done = CollectingDispatcher()
    events = await on_delete_confirm(tracker(here, "好", SKIN), done, yes=True)
    await app.privacy.settled()

    assert said(done)[0].startswith("已删除:肤质档案 1 份、聊天消息 2 条、对话记录 2 段")
    assert slots_of(events) == {"awaiting": None, **dict.fromkeys(PROFILE_SLOTS)}
    assert app.profiles.get(f"test:{user}") is None
    assert app.privacy.export(f"test:{user}")["messages"] == []
    assert set(rasa.replaced) == {f"test:g1:{user}", here}
    assert app.profiles.deletions(f"test:{user}")[0]["requested_by"] == here
    # The next message in another group starts from nothing.
    later = await read(tracker(f"test:g3:{user}", "推荐个精华"))
    assert not set(PROFILE_SLOTS) & set(slots_of(later))
