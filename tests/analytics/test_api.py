"""Analytics end to end in the real app: shopper messages through ``/api/chat/send`` are
counted, staff read them as JSON and CSV, and tracked product links count clicks.

Rasa itself is not started here (the rule tests cover it): a small Rasa stand-in answers the
gateway webhook by running the repository's real knowledge actions in-process (so "I don't
know" replies carry exactly the ``known`` flag the actions give them) and, for a
recommendation, replies with the ``recommended`` payload the recommending actions send.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import say as utter
from actions.knowledge import ActionFallback
from assistant.analytics.links import tracked_links
from assistant.config import AnalyticsSettings, RasaSettings
from tests.admin.support import AdminStack, viewer

Client = Any


def tracker(sender: str, text: str, **slots: Any) -> Tracker:
    latest = {"text": text, "intent": {"name": "ask"}, "entities": []}
    return Tracker(sender, dict(slots), latest, [], False, None, {}, "action_listen")


async def stand_in_rasa(request: web.Request) -> web.Response:
    """Pick an action by keyword, run it for real, answer what Rasa's gateway would."""
    body = await request.json()
    sender, text = body["sender"], body["message"]
    dispatcher = CollectingDispatcher()
    if "推荐" in text:
        utter(dispatcher, "为你推荐这两款", recommended=["LY-CL-001", "LY-SE-001"])
    else:
        await ActionFallback().run(dispatcher, tracker(sender, text), {})
    return web.json_response(
        [
            {"recipient_id": sender, "text": m["text"], "custom": m["custom"]}
            for m in dispatcher.messages
        ]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def rasa_url(aiohttp_server: Any) -> str:
    app = web.Application()
    app.router.add_post("/webhooks/gateway/webhook", stand_in_rasa)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def client(stack: AdminStack, rasa_url: str, aiohttp_client: Any) -> AsyncIterator[Client]:
    from assistant.app import create_app

    settings = stack.settings.model_copy(update={"rasa": RasaSettings(url=rasa_url)})
    yield await aiohttp_client(create_app(settings, stack.services))


async def say(client: Client, chat: str, user: str, text: str) -> list[dict[str, Any]]:
    response = await client.post(
        "/api/chat/send",
        json={"chat_id": chat, "user_id": user, "user_name": user, "text": f"@澜屿小助手 {text}"},
    )
    assert response.status == 200, await response.text()
    return (await response.json())["replies"]


async def report(client: Client, **query: str) -> dict[str, Any]:
    response = await client.get("/api/admin/analytics", params=query, headers=viewer())
    assert response.status == 200, await response.text()
    return await response.json()


async def test_shopper_messages_show_up_in_the_report(client: Client) -> None:
    chat = f"analytics-{uuid.uuid4().hex[:8]}"
    group = f"web:{chat}"
    replies = await say(client, chat, "xiaolin", "油皮推荐一款洗面奶")
    assert replies, "the shopper got an answer"
    await say(client, chat, "xiaolin", "你们的猫会唱歌吗")  # nobody can answer that
    await say(client, chat, "amy", "你们的猫会唱歌吗？")

    data = await report(client, group=group)
    totals = data["totals"]
    assert totals["messages"] == 3 and totals["shoppers"] == 2
    assert totals["unanswered"] == 2
    assert totals["unanswered_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert totals["recommendations"] == 2 and totals["clicks"] == 0
    assert data["groups"][0]["group"] == group
    assert data["top_questions"][0]["count"] == 2
    assert "猫会唱歌" in data["top_questions"][0]["question"]
    assert group in data["known_groups"]
    assert data["days"][-1]["messages"] == 3  # today, in China time

    csv_response = await client.get(
        "/api/admin/analytics.csv", params={"group": group}, headers=viewer()
    )
    assert csv_response.status == 200
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["Content-Disposition"]
    raw = await csv_response.read()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["日期 date", "群 group", "消息数 messages"]
    assert rows[1][1] == group and rows[1][2] == "3"


async def test_rasa_down_counts_as_not_answered(stack: AdminStack, aiohttp_client: Any) -> None:
    from assistant.app import create_app

    down = f"http://127.0.0.1:{free_port()}"
    settings = stack.settings.model_copy(update={"rasa": RasaSettings(url=down, timeout_seconds=2)})
    client = await aiohttp_client(create_app(settings, stack.services))
    chat = f"analytics-down-{uuid.uuid4().hex[:8]}"
    replies = await say(client, chat, "u1", "在吗")
    assert replies  # the shopper is asked to try again
    totals = (await report(client, group=f"web:{chat}"))["totals"]
    assert totals["messages"] == 1 and totals["failed"] == 1 and totals["unanswered_rate"] == 1.0


async def test_the_report_needs_a_token_and_refuses_bad_dates_clearly(client: Client) -> None:
    assert (await client.get("/api/admin/analytics")).status == 401
    bad = await client.get(
        "/api/admin/analytics", params={"from": "2025-11-20", "to": "2025-11-01"}, headers=viewer()
    )
    assert bad.status == 422
    assert "after" in (await bad.json())["error"]
    typo = await client.get("/api/admin/analytics", params={"from": "yesterday"}, headers=viewer())
    assert typo.status == 422
    assert (await typo.json())["fields"][0]["field"] == "from"


async def test_a_tracked_link_opens_the_product_and_counts_one_click(
    stack: AdminStack, client: Client
) -> None:
    chat = f"analytics-click-{uuid.uuid4().hex[:8]}"
    conversation = f"web:{chat}:xiaolin"
    off = tracked_links(stack.settings, conversation, ["LY-CL-001"])
    assert off == {}, "no links unless analytics.link_base is configured"

    settings = stack.settings.model_copy(
        update={"analytics": AnalyticsSettings(link_base="https://assistant.example.com/")}
    )
    links = tracked_links(settings, conversation, ["LY-CL-001", "LY-CL-001"])
    assert list(links) == ["LY-CL-001"]
    url = links["LY-CL-001"]
    assert url.startswith("https://assistant.example.com/go/") and len(url) < 50
    path = url.removeprefix("https://assistant.example.com")

    preview = await client.get(path, headers={"User-Agent": "TelegramBot (like TwitterBot)"})
    assert preview.status == 200  # a chat app's link preview is not a click
    opened = await client.get(path, headers={"User-Agent": "Mozilla/5.0 MicroMessenger"})
    assert opened.status == 200
    page = await opened.text()
    assert "净" in page or "洗面奶" in page or "Cleanser" in page
    assert "<script" not in page

    totals = (await report(client, group=f"web:{chat}"))["totals"]
    assert totals["clicks"] == 1

    missing = await client.get("/go/nosuchtoken")
    assert missing.status == 404
    assert "链接无效" in await missing.text()


async def test_a_tracked_link_can_lead_to_the_shop_page(
    stack: AdminStack, aiohttp_client: Any
) -> None:
    from assistant.app import create_app

    settings = stack.settings.model_copy(
        update={
            "analytics": AnalyticsSettings(
                link_base="https://a.example.com", product_url="https://shop.example.com/p/{id}"
            )
        }
    )
    # The app reads its settings from its services, as in production.
    services = dataclasses.replace(stack.services, settings=settings)
    client = await aiohttp_client(create_app(settings, services))
    url = tracked_links(settings, "web:g:u", ["LY-CL-001"])["LY-CL-001"]
    response = await client.get(url.removeprefix("https://a.example.com"), allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "https://shop.example.com/p/LY-CL-001"


async def test_a_broken_analytics_database_never_costs_the_shopper_a_reply(
    rasa_url: str, tmp_path: Path
) -> None:
    from assistant.analytics.store import AnalyticsStore
    from assistant.groupchat.inbox import MessageInbox
    from assistant.groupchat.pipeline import ChatRules, GroupChat
    from assistant.messages import IncomingMessage
    from assistant.rasa_client import RasaClient

    rasa = RasaClient(rasa_url)
    chat = GroupChat(
        rasa,
        MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}"),
        ChatRules(assistant_names=("澜屿小助手",)),
    )
    # A "database file" that is a folder: every analytics write fails.
    (tmp_path / "analytics.db").mkdir()
    chat.analytics = AnalyticsStore(f"sqlite:///{tmp_path / 'analytics.db'}")
    message = IncomingMessage(
        platform="web",
        chat_id="g1",
        chat_type="group",
        sender_id="u1",
        sender_name="小林",
        text="@澜屿小助手 油皮推荐一款",
        message_id=uuid.uuid4().hex,
        mentions_assistant=True,
    )
    try:
        replies = await chat.handle(message)
    finally:
        await rasa.close()
    assert [r.text for r in replies] == ["为你推荐这两款"]
