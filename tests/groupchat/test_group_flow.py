"""The shared group layer end to end (real Rasa), through a minimal platform connector."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from assistant.config import ChatSettings, GroupPolicy
from assistant.connectors.base import Connector, Inbound
from assistant.groupchat.inbox import inbox_table
from assistant.groupchat.ratelimit import Limit, RateLimits
from assistant.messages import IncomingMessage, OutgoingReply
from tests.connectors.harness import Rig


class EchoPlatform(Connector):
    """A platform that posts JSON messages and keeps what is sent back in a list."""

    name = "echo"

    def __init__(self) -> None:
        super().__init__(Connector.settings_model(bot_name="澜屿小助手"))
        self.sent: list[OutgoingReply] = []

    async def receive(self, request: web.Request) -> Inbound:
        body = await request.json()
        return Inbound(
            messages=[
                IncomingMessage(
                    platform=self.name,
                    chat_id=body["chat"],
                    chat_type="group",
                    sender_id=body["user"],
                    sender_name=body["user"],
                    text=body["text"],
                    message_id=body.get("id") or uuid.uuid4().hex,
                    mentions_assistant=body.get("mention", True),
                )
            ]
        )

    async def send(self, reply: OutgoingReply) -> None:
        self.sent.append(reply)

    def to(self, user: str) -> list[str]:
        return [r.text for r in self.sent if r.to_user == user]


def chat_settings(**values: object) -> ChatSettings:
    return ChatSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def make_rig(rasa_url: str, tmp_path: Path) -> AsyncIterator:
    rigs: list[Rig] = []

    async def build(settings: ChatSettings | None = None) -> tuple[Rig, EchoPlatform]:
        platform = EchoPlatform()
        data_dir = tmp_path / uuid.uuid4().hex
        data_dir.mkdir()
        rig = Rig(platform, rasa_url, data_dir, settings)
        rigs.append(rig)
        await rig.start()
        return rig, platform

    yield build
    for rig in rigs:
        await rig.close()


async def post(rig: Rig, **body: object) -> int:
    assert rig.client is not None
    response = await rig.client.post("/webhooks/echo", data=json.dumps(body))
    return response.status


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_a_flooding_shopper_gets_one_notice_and_the_group_is_still_served(make_rig) -> None:
    limits = RateLimits(
        per_shopper=Limit(messages=2, seconds=60), per_group=Limit(messages=100, seconds=60)
    )
    rig, platform = await make_rig(chat_settings(rate_limits=limits))
    group, flood, calm = fresh("g"), fresh("flood"), fresh("calm")
    for _ in range(5):
        assert await post(rig, chat=group, user=flood, text="@澜屿小助手 你好") == 200
    assert await post(rig, chat=group, user=calm, text="@澜屿小助手 你好") == 200
    await rig.drain()
    flood_texts = platform.to(flood)
    notices = [t for t in flood_texts if "消息有点多" in t]
    assert len(notices) == 1
    assert len(flood_texts) == 3  # two answers, one notice, then silence
    assert platform.to(calm) and not any("消息有点多" in t for t in platform.to(calm))


async def test_two_shoppers_mid_conversation_in_one_group_keep_their_own_context(
    make_rig, orders
) -> None:
    rig, platform = await make_rig()
    group, amy, lin = fresh("g"), fresh("amy"), fresh("lin")
    order = orders["recent"]
    await post(rig, chat=group, user=amy, text="@澜屿小助手 where is my parcel?")
    await post(rig, chat=group, user=lin, text="@澜屿小助手 油皮用哪款洗面奶?")
    await rig.drain()
    await post(rig, chat=group, user=amy, text=f"@澜屿小助手 {order.order_id}")
    await rig.drain()
    amy_texts = "\n".join(platform.to(amy))
    assert "order number" in amy_texts and "last 4 digits" in amy_texts
    assert "洁面" in "\n".join(platform.to(lin))
    assert "order" not in "\n".join(platform.to(lin)).lower()
    # Group replies @-mention their own shopper; nobody gets another's answer.
    assert all(r.mention and r.to_user in (amy, lin) for r in platform.sent if not r.private)


async def test_a_group_can_get_product_answers_without_mentions_but_chatter_is_ignored(
    make_rig,
) -> None:
    group = fresh("g")
    settings = chat_settings(groups={f"echo:{group}": GroupPolicy(product_questions=True)})
    rig, platform = await make_rig(settings)
    shopper, other = fresh("u"), fresh("u")
    await post(rig, chat=group, user=shopper, text="油皮用哪款洗面奶?", mention=False)
    await post(rig, chat=group, user=other, text="大家晚上好,今天好冷啊", mention=False)
    await post(rig, chat=fresh("g"), user=other, text="油皮用哪款洗面奶?", mention=False)
    await rig.drain()
    assert "洁面" in "\n".join(platform.to(shopper))
    assert platform.to(other) == []
    # Chatter never reaches the database, let alone Rasa.
    with rig.chat.inbox.engine.connect() as connection:
        stored = connection.execute(select(inbox_table.c.conversation_id)).scalars().all()
    assert stored == [f"echo:{group}:{shopper}"]


async def test_when_rasa_is_down_the_message_is_kept_and_the_shopper_told(
    make_rig, tmp_path: Path
) -> None:
    rig, platform = await make_rig()
    rig.chat.rasa.base_url = "http://127.0.0.1:9"  # nothing listens there
    shopper = fresh("u")
    assert await post(rig, chat=fresh("g"), user=shopper, text="@澜屿小助手 在吗") == 200
    await rig.drain()
    assert any("稍后再试" in t for t in platform.to(shopper))
    [kept] = rig.chat.inbox.unanswered()
    assert kept["status"] == "failed" and kept["text"] == "@澜屿小助手 在吗"


async def test_replies_wait_for_nothing_but_the_platform_is_acknowledged_first(make_rig) -> None:
    rig, platform = await make_rig()
    shopper = fresh("u")
    started = asyncio.get_running_loop().time()
    assert await post(rig, chat=fresh("g"), user=shopper, text="@澜屿小助手 推荐一款防晒") == 200
    acknowledged = asyncio.get_running_loop().time() - started
    assert platform.to(shopper) == []  # the answer comes after the acknowledgement
    await rig.drain()
    assert platform.to(shopper)
    assert acknowledged < 1.0
