"""Bad input at the chat and search APIs: a clear 4xx or a polite reply, never a traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from assistant.app import create_app
from assistant.config import load_settings
from assistant.groupchat.inbox import MessageInbox
from tests.stack import RunningSystem, free_port

BASE = {"chat_id": "g-bad", "user_id": "u-bad", "user_name": "Bad"}


def test_malformed_json_is_a_400(system: RunningSystem) -> None:
    status, body = system.post("/api/chat/send", None, raw=b"{not json")
    assert status == 400 and "JSON" in body["error"]


def test_unknown_and_missing_fields_are_422_naming_the_field(system: RunningSystem) -> None:
    status, body = system.post("/api/chat/send", {**BASE, "text": "hi", "colour": "red"})
    assert status == 422 and any(f["field"] == "colour" for f in body["fields"])
    status, body = system.post("/api/chat/send", {"chat_id": "g", "text": "hi"})
    assert status == 422 and {f["field"] for f in body["fields"]} >= {"user_id", "user_name"}
    status, body = system.post("/api/chat/send", [1, 2, 3])
    assert status == 422


def test_empty_and_whitespace_messages_get_a_polite_reply(system: RunningSystem) -> None:
    for text in ["", "   \n\t ", "@澜屿小助手"]:
        replies = system.chat("u-empty", text)
        assert len(replies) == 1 and "再说一遍" in replies[0]["text"]


def test_very_long_message_is_answered_and_not_lost(system: RunningSystem) -> None:
    replies = system.chat("u-long", "油皮用哪款洗面奶" + "啊" * 10_000)
    assert replies and any("前 2000" in r["text"] for r in replies)


def test_emoji_only_message_gets_a_reply(system: RunningSystem) -> None:
    replies = system.chat("u-emoji", "😂😂👍🌸")
    assert replies and all(r["text"] for r in replies)


def test_kb_search_rejects_bad_bodies(system: RunningSystem) -> None:
    assert system.post("/api/kb/search", {"query": ""})[0] == 422
    assert system.post("/api/kb/search", {"query": "防晒", "k": 0})[0] == 422
    assert system.post("/api/kb/search", {"query": "防晒", "oops": 1})[0] == 422
    status, body = system.post("/api/kb/search", {"query": "防晒", "k": 3})
    assert status == 200 and len(body["hits"]) == 3
    assert {"id", "score", "title", "metadata"} <= set(body["hits"][0])


def test_rasa_down_tells_the_shopper_and_keeps_the_message(services, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, port=free_port())
    settings.rasa.url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    async def scenario() -> dict:
        app = create_app(settings, services)
        async with TestClient(TestServer(app)) as client:
            response = await client.post("/api/chat/send", json={**BASE, "text": "在吗"})
            assert response.status == 200
            return await response.json()

    body = asyncio.run(scenario())
    assert "稍后再试" in body["replies"][0]["text"]
    kept = MessageInbox(settings.commerce_url).unanswered()
    assert [(row["text"], row["status"]) for row in kept] == [("在吗", "failed")]
