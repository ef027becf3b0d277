"""LINE connector: signed webhooks in, reply-token replies / pushes out, behind the real Rasa."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from assistant.connectors.base import DeliveryFailed
from assistant.connectors.delivery import Delivery
from assistant.connectors.gateway import webhook_routes
from assistant.connectors.line import LineConnector, LineSettings
from assistant.groupchat.inbox import inbox_table
from assistant.messages import IncomingMessage, OutgoingReply
from tests.aftersales.images import JPEG
from tests.connectors.harness import Capture, FakePlatform, Rig, serve_bytes

SECRET = "8c5b0a4f2e6d4b7a9c1e3f5a7b9d1c3e"
ACCESS_TOKEN = "long-lived-channel-access-token"
BOT_NAME = "澜屿小助手"
BOT_USER_ID = "U" + "b0" * 16
REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"
POINTER = "涉及你的订单信息,我已私信发给你了,请查看私聊~"


# ---------------------------------------------------------------------- LINE-shaped requests
def line_id(prefix: str) -> str:
    """A LINE-looking id (U/C/R + 32 hex), fresh per test so workers never collide."""
    return prefix + uuid.uuid4().hex


def sign(body: bytes, secret: str = SECRET) -> str:
    """X-Line-Signature as LINE computes it: base64(HMAC-SHA256(channel secret, body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def text_event(
    text: str,
    *,
    user_id: str | None,
    group_id: str | None = None,
    room_id: str | None = None,
    mention_bot: bool = False,
    mention_other: str | None = None,
    quoted_message_id: str | None = None,
    message_id: str | None = None,
    event_id: str | None = None,
    redelivery: bool = False,
    reply_token: str | None = None,
) -> dict[str, Any]:
    """A text message event as LINE posts it (groups, multi-person chats or 1:1)."""
    if group_id:
        source: dict[str, Any] = {"type": "group", "groupId": group_id}
    elif room_id:
        source = {"type": "room", "roomId": room_id}
    else:
        source = {"type": "user"}
    if user_id:
        source["userId"] = user_id
    message: dict[str, Any] = {
        "type": "text",
        "id": message_id or str(uuid.uuid4().int)[:18],
        "quoteToken": "q" + uuid.uuid4().hex,
        "text": text,
    }
    mentionees = []
    if mention_bot:
        mentionees.append(
            {
                "index": 0,
                "length": len(BOT_NAME) + 1,
                "type": "user",
                "userId": BOT_USER_ID,
                "isSelf": True,
            }
        )
    if mention_other:
        mentionees.append(
            {"index": 0, "length": 4, "type": "user", "userId": mention_other, "isSelf": False}
        )
    if mentionees:
        message["mention"] = {"mentionees": mentionees}
    if quoted_message_id:
        message["quotedMessageId"] = quoted_message_id
    return {
        "type": "message",
        "message": message,
        "webhookEventId": event_id or "01" + uuid.uuid4().hex[:24].upper(),
        "deliveryContext": {"isRedelivery": redelivery},
        "timestamp": int(time.time() * 1000),
        "source": source,
        "replyToken": reply_token or uuid.uuid4().hex,
        "mode": "active",
    }


def body_of(*events: dict[str, Any]) -> bytes:
    return json.dumps(
        {"destination": BOT_USER_ID, "events": list(events)}, ensure_ascii=False
    ).encode()


async def post(to: Rig | TestClient, body: bytes, *, signature: str | None = None) -> Any:
    """POST a webhook as LINE does: JSON body, X-Line-Signature of the exact bytes."""
    client = to.client if isinstance(to, Rig) else to
    assert client is not None
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Line-Signature": sign(body) if signature is None else signature,
    }
    return await client.post("/webhooks/line", data=body, headers=headers)


# ---------------------------------------------------------------------- fixtures
@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    fake = FakePlatform()

    async def sent(_: web.Request) -> web.StreamResponse:
        # LINE answers reply and push with the ids of the messages it sent.
        return web.json_response(
            {"sentMessages": [{"id": str(uuid.uuid4().int)[:18], "quoteToken": "qt"}]}
        )

    fake.route("POST", REPLY, sent)
    fake.route("POST", PUSH, sent)
    await fake.start()
    yield fake
    await fake.close()


def make_connector(platform: FakePlatform, **overrides: Any) -> LineConnector:
    settings = LineSettings.model_validate(
        {
            "channel_secret": SECRET,
            "channel_access_token": ACCESS_TOKEN,
            "api_base": str(platform.server.make_url("")).rstrip("/"),  # type: ignore[union-attr]
            "bot_name": BOT_NAME,
            **overrides,
        }
    )
    return LineConnector(settings)


@pytest.fixture
async def rig(platform: FakePlatform, rasa_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    harness = Rig(make_connector(platform), rasa_url, tmp_path)
    await harness.start()
    yield harness
    await harness.close()


@pytest.fixture
async def parsed(platform: FakePlatform) -> AsyncIterator[SimpleNamespace]:
    """The connector behind the real gateway, with a group layer that only collects what the
    connector parsed (no Rasa): for what reaches the group layer, and what does not."""
    accepted: list[IncomingMessage] = []

    async def accept(message: IncomingMessage) -> bool:
        accepted.append(message)
        return True

    connector = make_connector(platform)
    app = web.Application()
    app.add_routes(webhook_routes({"line": connector}, SimpleNamespace(accept=accept)))
    client = TestClient(TestServer(app))
    await client.start_server()
    yield SimpleNamespace(client=client, accepted=accepted, connector=connector)
    await connector.close()
    await client.close()


def stored(rig: Rig) -> int:
    """Messages the group layer kept (what would reach Rasa)."""
    with rig.chat.inbox.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(inbox_table)).scalar())


def delivery(rig: Rig) -> Delivery:
    assert rig.chat.delivery is not None
    return rig.chat.delivery


def mentioned_user(message: dict[str, Any]) -> str:
    assert message["type"] == "textV2"
    assert message["text"].startswith("{user} ")
    mention = message["substitution"]["user"]
    assert mention["type"] == "mention" and mention["mentionee"]["type"] == "user"
    return str(mention["mentionee"]["userId"])


# ---------------------------------------------------------------------- (1) the happy paths
async def test_group_mention_answered_by_reply_token_mentioning_the_shopper(
    rig: Rig, platform: FakePlatform
) -> None:
    shopper, group = line_id("U"), line_id("C")
    event = text_event(
        f"@{BOT_NAME} 油皮用哪款洗面奶?", user_id=shopper, group_id=group, mention_bot=True
    )
    response = await post(rig, body_of(event))
    assert response.status == 200

    [call] = await platform.wait_for(REPLY)
    await rig.drain()
    assert call.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    sent = call.json()
    assert sent["replyToken"] == event["replyToken"]
    assert 1 <= len(sent["messages"]) <= 5
    assert mentioned_user(sent["messages"][0]) == shopper
    assert len(sent["messages"][0]["text"]) > len("{user} ")
    assert platform.calls_to(PUSH) == []  # the one free reply was enough


async def test_private_chat_answered_by_reply_token_without_mention(
    rig: Rig, platform: FakePlatform
) -> None:
    shopper = line_id("U")
    event = text_event("油皮用哪款洗面奶?", user_id=shopper)
    assert (await post(rig, body_of(event))).status == 200

    [call] = await platform.wait_for(REPLY)
    await rig.drain()
    messages = call.json()["messages"]
    assert call.json()["replyToken"] == event["replyToken"]
    assert all(m["type"] == "text" and m["text"] for m in messages)
    assert platform.calls_to(PUSH) == []


async def test_quoting_the_assistant_in_a_room_addresses_it_and_late_replies_are_pushed(
    platform: FakePlatform, rasa_url: str, tmp_path: Path
) -> None:
    """Reply tokens only live about a minute: a late answer goes by push to the room, still
    mentioning the shopper; quoting one of the assistant's messages counts as addressing it."""
    rig = Rig(make_connector(platform, reply_token_seconds=0), rasa_url, tmp_path)
    client = await rig.start()
    try:
        shopper, room = line_id("U"), line_id("R")
        first = text_event(f"@{BOT_NAME} 推荐一款保湿面霜", user_id=shopper, room_id=room)
        first["message"]["mention"] = {
            "mentionees": [{"index": 0, "length": 6, "type": "user", "isSelf": True}]
        }
        # LINE names the assistant's messages in its answer; the shopper quotes one of them.
        our_message = str(uuid.uuid4().int)[:18]
        platform.route("POST", PUSH, {"sentMessages": [{"id": our_message, "quoteToken": "qt"}]})
        assert (await post(client, body_of(first))).status == 200
        await platform.wait_for(PUSH, 1)
        await rig.drain()
        before = len(platform.calls_to(PUSH))

        quote = text_event("油皮用哪款洗面奶?", user_id=shopper, room_id=room)
        quote["message"]["quotedMessageId"] = our_message
        assert (await post(client, body_of(quote))).status == 200
        calls = await platform.wait_for(PUSH, before + 1)
        await rig.drain()
        push = calls[before].json()
        assert push["to"] == room
        assert mentioned_user(push["messages"][0]) == shopper
        assert platform.calls_to(REPLY) == []  # expired tokens are not even tried
    finally:
        await rig.close()


async def test_group_messages_not_for_the_assistant_are_not_answered(
    rig: Rig, platform: FakePlatform
) -> None:
    shopper, group = line_id("U"), line_id("C")
    other = text_event(
        "@小美 油皮用哪款洗面奶?", user_id=shopper, group_id=group, mention_other=line_id("U")
    )
    plain = text_event("今天天气不错", user_id=shopper, group_id=group)
    assert (await post(rig, body_of(other, plain))).status == 200
    await rig.drain()
    assert stored(rig) == 0
    assert platform.calls == []


async def test_parsed_message_carries_chat_sender_mention_and_reply_context(
    parsed: SimpleNamespace,
) -> None:
    shopper, group, room = line_id("U"), line_id("C"), line_id("R")
    in_group = text_event(f"@{BOT_NAME} 在吗", user_id=shopper, group_id=group, mention_bot=True)
    in_room = text_event("hello", user_id=shopper, room_id=room)
    private = text_event("你好", user_id=shopper)
    no_user_id = text_event(f"@{BOT_NAME} 在吗", user_id=None, group_id=group, mention_bot=True)
    body = body_of(in_group, in_room, private, no_user_id)
    assert (await post(parsed.client, body)).status == 200

    group_msg, room_msg, private_msg, anonymous = parsed.accepted
    assert (group_msg.chat_id, group_msg.chat_type, group_msg.sender_id) == (
        group,
        "group",
        shopper,
    )
    assert group_msg.mentions_assistant and group_msg.text == f"@{BOT_NAME} 在吗"
    assert group_msg.message_id == in_group["message"]["id"]
    assert group_msg.context["reply_token"] == in_group["replyToken"]
    assert (room_msg.chat_id, room_msg.chat_type, room_msg.mentions_assistant) == (
        room,
        "group",
        False,
    )
    assert (private_msg.chat_id, private_msg.chat_type) == (shopper, "private")
    # LINE for PC users come without userId: answered in the group, each message on its own.
    assert anonymous.chat_id == group and anonymous.sender_id.startswith("anonymous:")


# ---------------------------------------------------------------------- (2) rejections
@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("tampered body", 401),
        ("wrong secret", 401),
        ("no signature", 401),
        ("not json", 400),
        ("no events list", 400),
        ("text event missing fields", 400),
        ("not utf-8", 400),
    ],
)
async def test_bad_requests_are_refused_and_never_reach_rasa(
    rig: Rig, platform: FakePlatform, case: str, status: int
) -> None:
    shopper, group = line_id("U"), line_id("C")
    event = text_event(
        f"@{BOT_NAME} 油皮用哪款洗面奶?", user_id=shopper, group_id=group, mention_bot=True
    )
    body = body_of(event)
    signature: str | None = None
    if case == "tampered body":
        signature = sign(body)
        body = body.replace("洗面奶".encode(), "面霜".encode())
    elif case == "wrong secret":
        signature = sign(body, "0" * 32)
    elif case == "no signature":
        signature = ""
    elif case == "not json":
        body = b'{"events": [' + body
    elif case == "no events list":
        body = json.dumps({"destination": BOT_USER_ID}).encode()
    elif case == "text event missing fields":
        del event["message"]["id"]
        body = body_of(event)
    elif case == "not utf-8":
        body = "@澜屿小助手 在吗".encode("gbk")

    response = await post(rig, body, signature=signature)
    assert response.status == status
    await rig.drain()
    assert stored(rig) == 0
    assert platform.calls == []


@pytest.mark.parametrize("event_type", ["follow", "join", "postback", "sticker", "unsend"])
async def test_other_event_types_are_acknowledged_and_ignored(
    rig: Rig, platform: FakePlatform, event_type: str
) -> None:
    shopper, group = line_id("U"), line_id("C")
    event = text_event("x", user_id=shopper, group_id=group, mention_bot=True)
    if event_type == "sticker":
        event["message"] = {
            "type": "sticker",
            "id": "1",
            "quoteToken": "q",
            "packageId": "446",
            "stickerId": "1988",
            "stickerResourceType": "STATIC",
        }
    else:
        event["type"] = event_type
        del event["message"]
        if event_type == "postback":
            event["postback"] = {"data": "action=buy"}
        if event_type == "unsend":
            event["unsend"] = {"messageId": "1"}
    response = await post(rig, body_of(event))
    assert response.status == 200
    await rig.drain()
    assert stored(rig) == 0
    assert platform.calls == []


# ---------------------------------------------------------------------- (3) console verify
async def test_console_verify_request_gets_200_but_only_when_signed(
    rig: Rig, platform: FakePlatform
) -> None:
    verify = json.dumps({"destination": BOT_USER_ID, "events": []}).encode()
    assert (await post(rig, verify)).status == 200
    unsigned = await post(rig, verify, signature=sign(verify, "f" * 32))
    assert unsigned.status == 401
    assert platform.calls == []


# ---------------------------------------------------------------------- (4) private routing
async def test_order_details_are_pushed_to_the_shopper_and_the_group_gets_a_pointer(
    rig: Rig, platform: FakePlatform, orders: dict[str, Any]
) -> None:
    order = orders["transit"]
    shopper, group = line_id("U"), line_id("C")
    event = text_event(
        f"@{BOT_NAME} 订单{order.order_id} 手机尾号{order.digits} 到哪了",
        user_id=shopper,
        group_id=group,
        mention_bot=True,
    )
    assert (await post(rig, body_of(event))).status == 200
    await platform.wait_for(PUSH)
    await platform.wait_for(REPLY)
    await rig.drain()

    pushes = [c.json() for c in platform.calls_to(PUSH)]
    assert all(p["to"] == shopper for p in pushes)
    private_text = " ".join(m["text"] for p in pushes for m in p["messages"])
    assert "武汉" in private_text
    assert all(m["type"] == "text" for p in pushes for m in p["messages"])

    [group_reply] = [c.json() for c in platform.calls_to(REPLY)]
    assert group_reply["replyToken"] == event["replyToken"]
    group_text = " ".join(m["text"] for m in group_reply["messages"])
    assert POINTER in group_text and "武汉" not in group_text
    assert mentioned_user(group_reply["messages"][0]) == shopper


async def test_private_push_to_a_shopper_who_is_not_a_friend_is_recorded_undelivered(
    rig: Rig, platform: FakePlatform, orders: dict[str, Any]
) -> None:
    order = orders["transit"]
    shopper, group = line_id("U"), line_id("C")
    platform.fail(PUSH, 400, times=10, body={"message": "Failed to send messages"})
    event = text_event(
        f"@{BOT_NAME} 订单{order.order_id} 手机尾号{order.digits} 到哪了",
        user_id=shopper,
        group_id=group,
        mention_bot=True,
    )
    assert (await post(rig, body_of(event))).status == 200
    await platform.wait_for(REPLY)
    await rig.drain()
    assert len(platform.calls_to(PUSH)) == 1  # a 400 is not retried
    [record] = delivery(rig).undelivered("line")
    assert record["private"] and record["to_user"] == shopper and "武汉" in record["text"]
    assert "Failed to send messages" in record["error"]
    # The group is not told "sent you privately": it is told to open a private chat.
    [group_reply] = [c.json() for c in platform.calls_to(REPLY)]
    group_text = " ".join(m["text"] for m in group_reply["messages"])
    assert POINTER not in group_text and "武汉" not in group_text
    assert "私聊我" in group_text


# ---------------------------------------------------------------------- (5) redelivery
async def test_a_redelivered_event_is_answered_once(rig: Rig, platform: FakePlatform) -> None:
    shopper, group = line_id("U"), line_id("C")
    event = text_event(
        f"@{BOT_NAME} 油皮用哪款洗面奶?", user_id=shopper, group_id=group, mention_bot=True
    )
    again = json.loads(json.dumps(event))
    again["deliveryContext"]["isRedelivery"] = True
    assert (await post(rig, body_of(event))).status == 200
    assert (await post(rig, body_of(again))).status == 200
    await platform.wait_for(REPLY)
    await rig.drain()
    assert stored(rig) == 1
    assert len(platform.calls_to(REPLY)) + len(platform.calls_to(PUSH)) == 1


# ---------------------------------------------------------------------- (6) restart
async def test_a_restart_between_receipt_and_reply_answers_once(
    rig: Rig, platform: FakePlatform
) -> None:
    shopper, group = line_id("U"), line_id("C")
    event = text_event(
        f"@{BOT_NAME} 油皮用哪款洗面奶?", user_id=shopper, group_id=group, mention_bot=True
    )
    assert (await post(rig, body_of(event))).status == 200
    assert await rig.restart() == 1
    await platform.wait_for(REPLY)
    await rig.drain()
    calls = platform.calls_to(REPLY) + platform.calls_to(PUSH)
    assert len(calls) == 1
    assert mentioned_user(calls[0].json()["messages"][0]) == shopper


# ---------------------------------------------------------------------- (7) send failures
async def test_reply_failing_with_5xx_then_429_is_delivered_once(
    rig: Rig, platform: FakePlatform
) -> None:
    shopper, group = line_id("U"), line_id("C")
    platform.fail(REPLY, 500, times=1)
    platform.fail(REPLY, 429, times=1, body={"message": "The API rate limit has been exceeded."})
    event = text_event(
        f"@{BOT_NAME} 油皮用哪款洗面奶?", user_id=shopper, group_id=group, mention_bot=True
    )
    assert (await post(rig, body_of(event))).status == 200
    calls = await platform.wait_for(REPLY, 3)
    await rig.drain()
    assert len(platform.calls_to(REPLY)) == 3  # two failures, one delivery
    assert all(c.json()["replyToken"] == event["replyToken"] for c in calls)
    assert platform.calls_to(PUSH) == []
    assert rig.chat.delivery.undelivered("line") == []  # type: ignore[union-attr]


async def test_an_invalid_reply_token_falls_back_to_push_into_the_group(
    rig: Rig, platform: FakePlatform
) -> None:
    shopper, group = line_id("U"), line_id("C")
    platform.fail(REPLY, 400, times=1, body={"message": "Invalid reply token"})
    event = text_event(
        f"@{BOT_NAME} 油皮用哪款洗面奶?", user_id=shopper, group_id=group, mention_bot=True
    )
    assert (await post(rig, body_of(event))).status == 200
    [push] = await platform.wait_for(PUSH)
    await rig.drain()
    assert push.json()["to"] == group
    assert mentioned_user(push.json()["messages"][0]) == shopper
    assert push.headers["X-Line-Retry-Key"]
    assert len(platform.calls_to(REPLY)) == 1


async def test_push_retries_reuse_one_retry_key_and_a_409_counts_as_delivered(
    platform: FakePlatform,
) -> None:
    """A push retried after a 5xx/429 carries the same X-Line-Retry-Key, so LINE delivers it at
    most once; its 409 'already accepted' is success, not a failure."""
    connector = make_connector(platform)
    shopper = line_id("U")
    reply = OutgoingReply(
        "line", line_id("C"), shopper, "", "订单已发货", private=True, in_reply_to="m1"
    )
    answers = [
        web.json_response({"message": "Internal error"}, status=503),
        web.json_response({"message": "rate limit"}, status=429, headers={"Retry-After": "7"}),
        web.json_response({"message": "The retry key is already accepted"}, status=409),
    ]

    async def flaky(_: web.Request) -> web.StreamResponse:
        return answers.pop(0) if answers else web.json_response({"sentMessages": []})

    platform.route("POST", PUSH, flaky)
    try:
        with pytest.raises(DeliveryFailed) as server_error:
            await connector.send(reply)
        assert server_error.value.retryable
        with pytest.raises(DeliveryFailed) as rate_limited:
            await connector.send(reply)
        assert rate_limited.value.retryable and rate_limited.value.retry_after == 7
        await connector.send(reply)  # 409: delivered by an earlier attempt
        await connector.send(reply)  # success, even with an answer the SDK cannot read
    finally:
        await connector.close()
    keys = {c.headers["X-Line-Retry-Key"] for c in platform.calls_to(PUSH)}
    assert len(keys) == 1 and uuid.UUID(keys.pop())
    assert all(c.json()["to"] == shopper for c in platform.calls_to(PUSH))


async def test_rejected_access_token_and_used_up_quota_are_recorded_not_retried(
    rig: Rig, platform: FakePlatform
) -> None:
    """LINE's long-lived channel access token has no refresh: a 401 means a new one must be
    issued in the console. A used-up monthly quota (429) will not clear by retrying either."""
    group = line_id("C")
    platform.fail(REPLY, 401, times=1, body={"message": "Authentication failed."})
    platform.fail(PUSH, 429, times=1, body={"message": "You have reached your monthly limit."})
    fresh_token = {"reply_token": uuid.uuid4().hex, "reply_token_at": time.time()}
    token_failure = OutgoingReply("line", group, line_id("U"), "", "您好", context=fresh_token)
    quota_failure = OutgoingReply("line", group, line_id("U"), "", "您好", in_reply_to="m2")
    assert not await delivery(rig).send(rig.connector, token_failure)
    assert not await delivery(rig).send(rig.connector, quota_failure)
    assert len(platform.calls_to(REPLY)) == 1 and len(platform.calls_to(PUSH)) == 1
    errors = [r["error"] for r in rig.chat.delivery.undelivered("line")]  # type: ignore[union-attr]
    assert "channel access token" in errors[0] and "monthly" in errors[1]


# ---------------------------------------------------------------------- message shape
async def test_long_answers_arrive_whole_and_braces_are_shown_literally(
    platform: FakePlatform,
) -> None:
    connector = make_connector(platform)
    shopper, group = line_id("U"), line_id("C")
    text = "套装{限时}" + "好" * 7000
    try:
        await connector.send(OutgoingReply("line", group, shopper, "", text, in_reply_to="m3"))
    finally:
        await connector.close()
    [push] = platform.calls_to(PUSH)
    messages = push.json()["messages"]
    assert len(messages) == 2 and all(len(m["text"]) <= 5000 for m in messages)
    assert mentioned_user(messages[0]) == shopper
    assert messages[0]["text"].startswith("{user} 套装{{限时}}")
    shown = messages[0]["text"][len("{user} ") :].replace("{{", "{").replace("}}", "}")
    assert shown + messages[1]["text"] == text


# ---------------------------------------------------------------------- photos
async def test_an_image_message_is_parsed_and_its_content_fetched_by_message_id(
    platform: FakePlatform,
) -> None:
    base = str(platform.server.make_url("")).rstrip("/")  # type: ignore[union-attr]
    capture = Capture(make_connector(platform, data_api_base=base))
    client = await capture.start()
    shopper = line_id("U")
    event = text_event("", user_id=shopper, message_id="48151623")
    event["message"] = {
        "type": "image",
        "id": "48151623",
        "quoteToken": "q" + uuid.uuid4().hex,
        "contentProvider": {"type": "line"},
    }
    assert (await post(client, body_of(event))).status == 200

    (parsed,) = capture.accepted
    assert parsed.attachments == [{"kind": "image", "ref": "48151623"}]
    assert (parsed.chat_type, parsed.text) == ("private", "")
    content = "/v2/bot/message/48151623/content"
    platform.route("GET", content, serve_bytes(JPEG))
    assert await capture.connector.fetch_media(parsed.attachments[0]) == JPEG
    (call,) = platform.calls_to(content)
    assert call.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    await capture.close()
