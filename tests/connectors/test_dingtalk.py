"""DingTalk robot connector behind the real group layer and Rasa, against a fake DingTalk.

Callbacks are built like DingTalk's documented robot message and signed with the documented
algorithm (written out here, independent of the connector). Stream mode is exercised through
the SDK's own frame classes and, end to end, over a real WebSocket served by the fake platform.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient
from dingtalk_stream import AckMessage, CallbackMessage, ChatbotMessage

from assistant.connectors.dingtalk import (
    GROUP_SEND_PATH,
    PRIVATE_SEND_PATH,
    STREAM_OPEN_PATH,
    TOKEN_PATH,
    DingTalkConnector,
    DingTalkSettings,
)
from assistant.connectors.registry import ConnectorConfigError, build_connector
from tests.aftersales.images import JPEG
from tests.connectors.harness import FakePlatform, Rig, serve_bytes
from tests.stack import KnownOrder

APP_KEY = "dingtestappkey0001"
APP_SECRET = "test-app-secret-Q2x9dP0wXz_7aLk3"
SESSION_PATH = "/robot/sendBySession"
BOT_ID = "$:LWCP_v1:$robot-test-0001"
PRODUCT_QUESTION = " 油皮用哪款洗面奶?"  # DingTalk leaves the "@robot" out of text.content


# ---------------------------------------------------------------------- building requests
def documented_sign(timestamp: str, secret: str) -> str:
    """DingTalk's documented recipe: timestamp + "\\n" + appSecret, HmacSHA256, Base64."""
    string_to_sign = f"{timestamp}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, digestmod=hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(*, secret: str = APP_SECRET, age_seconds: float = 0) -> dict[str, str]:
    timestamp = str(round((time.time() - age_seconds) * 1000))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "timestamp": timestamp,
        "sign": documented_sign(timestamp, secret),
    }


class Shopper:
    """One shopper in one fresh conversation (uuid ids: never collides with other workers)."""

    def __init__(self, base: str, *, group: bool = True, staff: bool = True) -> None:
        self.base = base
        self.group = group
        self.staff_id = f"staff-{uuid.uuid4().hex[:10]}" if staff else ""
        self.dingtalk_id = f"$:LWCP_v1:${uuid.uuid4().hex}"
        self.chat_id = f"cid{uuid.uuid4().hex}=="
        self.session = uuid.uuid4().hex
        self.nick = "小林"

    def message(
        self,
        content: str,
        *,
        msg_id: str | None = None,
        session_valid: bool = True,
        at_robot: bool = True,
        msgtype: str = "text",
    ) -> dict[str, Any]:
        """A robot message as DingTalk posts it (the documented HTTP body)."""
        now_ms = int(time.time() * 1000)
        body: dict[str, Any] = {
            "conversationId": self.chat_id,
            "atUsers": [{"dingtalkId": BOT_ID}] if at_robot and self.group else [],
            "chatbotCorpId": "dingcorp0001",
            "chatbotUserId": BOT_ID,
            "msgId": msg_id or f"msg{uuid.uuid4().hex}",
            "senderNick": self.nick,
            "isAdmin": False,
            "sessionWebhookExpiredTime": now_ms + (90 * 60_000 if session_valid else -60_000),
            "createAt": now_ms,
            "senderCorpId": "dingcorp0001",
            "conversationType": "2" if self.group else "1",
            "senderId": self.dingtalk_id,
            "isInAtList": at_robot and self.group,
            "sessionWebhook": f"{self.base}{SESSION_PATH}?session={self.session}",
            "robotCode": APP_KEY,
            "msgtype": msgtype,
        }
        if self.staff_id:
            body["senderStaffId"] = self.staff_id
        if self.group:
            body["conversationTitle"] = "澜屿会员群"
        if msgtype == "text":
            body["text"] = {"content": content}
        else:
            body["content"] = {"downloadCode": "dl-code", "pictureDownloadCode": "pdl"}
        return body


# ---------------------------------------------------------------------- fixtures
@pytest.fixture
async def fake() -> AsyncIterator[FakePlatform]:
    platform = FakePlatform()
    await platform.start()
    tokens = iter(range(1, 1000))

    async def token(_: web.Request) -> web.Response:
        return web.json_response({"accessToken": f"token-{next(tokens)}", "expireIn": 7200})

    platform.route("POST", TOKEN_PATH, token)
    platform.route("POST", SESSION_PATH, {"errcode": 0, "errmsg": "ok"})
    platform.route("POST", GROUP_SEND_PATH, {"processQueryKey": "pqk-group"})
    platform.route(
        "POST",
        PRIVATE_SEND_PATH,
        {
            "processQueryKey": "pqk-private",
            "invalidStaffIdList": [],
            "flowControlledStaffIdList": [],
        },
    )
    yield platform
    await platform.close()


def base_url(fake: FakePlatform) -> str:
    assert fake.server is not None
    return str(fake.server.make_url("")).rstrip("/")


def make_connector(fake: FakePlatform, **overrides: Any) -> DingTalkConnector:
    settings = DingTalkSettings(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        api_base=base_url(fake),
        oapi_base=base_url(fake),
        bot_name="澜屿小助手",
        **overrides,
    )
    return DingTalkConnector(settings)


class RasaSpy:
    """Counts what reaches Rasa, so rejected requests can be shown to stop before it."""

    def __init__(self, rig: Rig) -> None:
        self.texts: list[str] = []
        self.attach(rig)

    def attach(self, rig: Rig) -> None:
        original = rig.chat.rasa.send

        async def send(conversation_id: str, text: str, *args: Any, **kwargs: Any) -> Any:
            self.texts.append(text)
            return await original(conversation_id, text, *args, **kwargs)

        rig.chat.rasa.send = send  # type: ignore[method-assign]


@pytest.fixture
async def rig(
    fake: FakePlatform, rasa_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Rig, TestClient, RasaSpy]]:
    test_rig = Rig(make_connector(fake), rasa_url, tmp_path)
    client = await test_rig.start()
    spy = RasaSpy(test_rig)
    yield test_rig, client, spy
    await test_rig.close()


async def post(client: TestClient, body: Any, headers: dict[str, str] | None = None) -> Any:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False)
    return await client.post("/webhooks/dingtalk", data=raw, headers=headers or signed_headers())


def session_replies(fake: FakePlatform, shopper: Shopper) -> list[dict[str, Any]]:
    return [
        c.json() for c in fake.calls_to(SESSION_PATH) if c.query.get("session") == shopper.session
    ]


# ---------------------------------------------------------------------- (1) signed, answered
async def test_group_mention_is_answered_in_the_group_at_mentioning_the_shopper(
    rig: tuple[Rig, TestClient, RasaSpy], fake: FakePlatform
) -> None:
    test_rig, client, spy = rig
    shopper = Shopper(base_url(fake))
    response = await post(client, shopper.message(PRODUCT_QUESTION))
    assert response.status == 200

    await fake.wait_for(SESSION_PATH)
    await test_rig.drain()
    replies = session_replies(fake, shopper)
    assert replies, "no reply through the session webhook"
    first = replies[0]
    assert first["msgtype"] == "text"
    # DingTalk only turns "@userid" into a mention when the userid is also in atUserIds.
    assert first["at"]["atUserIds"] == [shopper.staff_id]
    assert first["text"]["content"].startswith(f"@{shopper.staff_id} ")
    assert len(first["text"]["content"]) > len(shopper.staff_id) + 5
    assert spy.texts == ["油皮用哪款洗面奶?"]
    # The session webhook was enough: no token, no OpenAPI send.
    assert not fake.calls_to(TOKEN_PATH)
    assert not fake.calls_to(GROUP_SEND_PATH)


async def test_private_chat_is_answered_in_that_chat_without_a_mention(
    rig: tuple[Rig, TestClient, RasaSpy], fake: FakePlatform
) -> None:
    test_rig, client, _ = rig
    shopper = Shopper(base_url(fake), group=False)
    response = await post(client, shopper.message("Which cleanser suits oily skin?"))
    assert response.status == 200

    await fake.wait_for(SESSION_PATH)
    await test_rig.drain()
    reply = session_replies(fake, shopper)[0]
    assert "at" not in reply
    assert not reply["text"]["content"].startswith("@")


# ---------------------------------------------------------------------- (2) rejections
def _tampered() -> dict[str, str]:
    headers = signed_headers()
    headers["sign"] = headers["sign"][:-4] + "AAA="
    return headers


@pytest.mark.parametrize(
    ("case", "headers", "status"),
    [
        ("tampered signature", _tampered, 401),
        ("wrong secret", lambda: signed_headers(secret="not-the-app-secret"), 401),
        ("stale timestamp, validly signed", lambda: signed_headers(age_seconds=2 * 3600), 401),
        ("timestamp from the future", lambda: signed_headers(age_seconds=-2 * 3600), 401),
        ("no signature headers", lambda: {"Content-Type": "application/json"}, 401),
    ],
)
async def test_requests_not_signed_by_dingtalk_are_refused(
    rig: tuple[Rig, TestClient, RasaSpy],
    fake: FakePlatform,
    case: str,
    headers: Any,
    status: int,
) -> None:
    test_rig, client, spy = rig
    shopper = Shopper(base_url(fake))
    response = await post(client, shopper.message(PRODUCT_QUESTION), headers())
    assert response.status == status, case
    await test_rig.drain()
    assert spy.texts == []
    assert not fake.calls_to(SESSION_PATH)


@pytest.mark.parametrize(
    ("case", "body", "status"),
    [
        ("not JSON", b"{not json", 400),
        ("JSON but not an object", b"[1, 2]", 400),
        ("no msgId", "drop:msgId", 400),
        ("no conversationId", "drop:conversationId", 400),
        ("text is not an object", "text:broken", 400),
        ("audio message (ignored)", "audio", 200),
        ("group message not @-ing the robot", "not-at", 200),
    ],
)
async def test_malformed_or_unanswerable_bodies_never_reach_rasa(
    rig: tuple[Rig, TestClient, RasaSpy],
    fake: FakePlatform,
    case: str,
    body: Any,
    status: int,
) -> None:
    test_rig, client, spy = rig
    shopper = Shopper(base_url(fake))
    if body == "audio":
        body = shopper.message("", msgtype="audio")
    elif body == "not-at":
        body = shopper.message("油皮用哪款洗面奶?", at_robot=False)
    elif body == "text:broken":
        body = {**shopper.message(PRODUCT_QUESTION), "text": "just a string"}
    elif isinstance(body, str) and body.startswith("drop:"):
        missing = body.partition(":")[2]
        body = shopper.message(PRODUCT_QUESTION)
        del body[missing]
    response = await post(client, body)
    assert response.status == status, case
    await test_rig.drain()
    assert spy.texts == []
    assert not fake.calls_to(SESSION_PATH)


# ---------------------------------------------------------------------- (4) private routing
async def test_order_details_go_to_the_shopper_privately_and_the_group_gets_a_pointer(
    rig: tuple[Rig, TestClient, RasaSpy], fake: FakePlatform, orders: dict[str, KnownOrder]
) -> None:
    test_rig, client, _ = rig
    order = orders["transit"]
    shopper = Shopper(base_url(fake))
    text = f" 订单{order.order_id} 手机尾号{order.digits} 到哪了"
    assert (await post(client, shopper.message(text))).status == 200

    private = (await fake.wait_for(PRIVATE_SEND_PATH))[0]
    await test_rig.drain()
    body = private.json()
    assert private.headers["x-acs-dingtalk-access-token"] == "token-1"
    assert body["robotCode"] == APP_KEY
    assert body["userIds"] == [shopper.staff_id]
    assert body["msgKey"] == "sampleText"
    details = json.loads(body["msgParam"])["content"]
    assert "武汉" in details

    group = session_replies(fake, shopper)
    assert len(group) == 1, group
    assert group[0]["at"]["atUserIds"] == [shopper.staff_id]
    assert "私信" in group[0]["text"]["content"]
    assert all("武汉" not in r["text"]["content"] for r in group)
    assert all(order.order_id not in r["text"]["content"] for r in group)
    assert not fake.calls_to(GROUP_SEND_PATH)


async def test_an_external_shopper_is_asked_to_message_privately_and_sees_no_details(
    rig: tuple[Rig, TestClient, RasaSpy], fake: FakePlatform, orders: dict[str, KnownOrder]
) -> None:
    # External contacts in 外部群 have no staff id: a robot cannot message them privately.
    test_rig, client, _ = rig
    order = orders["transit"]
    shopper = Shopper(base_url(fake), staff=False)
    text = f" 订单{order.order_id} 手机尾号{order.digits} 到哪了"
    assert (await post(client, shopper.message(text))).status == 200

    await fake.wait_for(SESSION_PATH)
    await test_rig.drain()
    group = session_replies(fake, shopper)
    assert len(group) == 1, group
    assert "私聊" in group[0]["text"]["content"]
    assert all("武汉" not in r["text"]["content"] for r in group)
    assert not fake.calls_to(PRIVATE_SEND_PATH)
    assert test_rig.chat.delivery.undelivered() == []


# ---------------------------------------------------------------------- (5) retries, (6) restart
async def test_a_dingtalk_retry_of_the_same_message_is_answered_once(
    rig: tuple[Rig, TestClient, RasaSpy], fake: FakePlatform
) -> None:
    test_rig, client, spy = rig
    shopper = Shopper(base_url(fake))
    body = shopper.message(PRODUCT_QUESTION)
    first = await post(client, body)
    retry = await post(client, body)  # DingTalk re-posts with the same msgId
    assert (first.status, retry.status) == (200, 200)

    await fake.wait_for(SESSION_PATH)
    await test_rig.drain()
    await asyncio.sleep(0.2)
    assert len(spy.texts) == 1
    assert len(session_replies(fake, shopper)) == 1


async def test_a_message_received_just_before_a_restart_is_answered_once_after_it(
    rig: tuple[Rig, TestClient, RasaSpy], fake: FakePlatform
) -> None:
    test_rig, client, _ = rig
    shopper = Shopper(base_url(fake))
    assert (await post(client, shopper.message(PRODUCT_QUESTION))).status == 200
    picked_up = await test_rig.restart()
    assert picked_up == 1

    await fake.wait_for(SESSION_PATH)
    await test_rig.drain()
    await asyncio.sleep(0.2)
    replies = session_replies(fake, shopper)
    assert len(replies) == 1
    assert replies[0]["at"]["atUserIds"] == [shopper.staff_id]


# ---------------------------------------------------------------------- (7) send failures
@pytest.mark.parametrize("status", [503, 429])
async def test_a_send_failing_with_a_server_error_or_throttle_is_delivered_once(
    rig: tuple[Rig, TestClient, RasaSpy], fake: FakePlatform, status: int
) -> None:
    test_rig, client, _ = rig
    shopper = Shopper(base_url(fake))
    fake.fail(SESSION_PATH, status, times=2)
    assert (await post(client, shopper.message(PRODUCT_QUESTION))).status == 200

    await fake.wait_for(SESSION_PATH, count=3)
    await test_rig.drain()
    await asyncio.sleep(0.2)
    assert len(fake.calls_to(SESSION_PATH)) == 3  # two refused, one delivered
    assert test_rig.chat.delivery is not None
    assert test_rig.chat.delivery.undelivered("dingtalk") == []


async def test_an_expired_session_uses_the_robot_api_and_an_expired_token_is_refreshed(
    rig: tuple[Rig, TestClient, RasaSpy], fake: FakePlatform
) -> None:
    test_rig, client, _ = rig
    shopper = Shopper(base_url(fake))
    fake.fail(
        GROUP_SEND_PATH,
        400,
        times=1,
        body={"code": "InvalidAuthentication", "message": "不合法的access_token"},
    )
    body = shopper.message(PRODUCT_QUESTION, session_valid=False)
    assert (await post(client, body)).status == 200

    sends = await fake.wait_for(GROUP_SEND_PATH, count=2)
    await test_rig.drain()
    await asyncio.sleep(0.2)
    assert not fake.calls_to(SESSION_PATH)  # expired: never posted to
    assert len(fake.calls_to(TOKEN_PATH)) == 2
    assert json.loads(fake.calls_to(TOKEN_PATH)[0].body) == {
        "appKey": APP_KEY,
        "appSecret": APP_SECRET,
    }
    assert [c.headers["x-acs-dingtalk-access-token"] for c in sends] == ["token-1", "token-2"]
    delivered = sends[-1].json()
    assert delivered["openConversationId"] == shopper.chat_id
    assert delivered["robotCode"] == APP_KEY
    assert delivered["msgKey"] == "sampleText"
    # The OpenAPI text template has no @ field: the shopper is named in the text.
    assert json.loads(delivered["msgParam"])["content"].startswith(f"@{shopper.nick} ")
    assert len(fake.calls_to(GROUP_SEND_PATH)) == 2


@pytest.mark.parametrize(
    ("errcode", "session_calls", "api_calls"),
    [(130101, 2, 0), (300001, 1, 1)],  # "send too fast": retried; any other refusal: robot API
)
async def test_a_session_webhook_error_answer_is_retried_or_replaced_by_the_robot_api(
    rig: tuple[Rig, TestClient, RasaSpy],
    fake: FakePlatform,
    errcode: int,
    session_calls: int,
    api_calls: int,
) -> None:
    test_rig, client, _ = rig
    answers = [{"errcode": errcode, "errmsg": "refused"}]

    async def session(_: web.Request) -> web.Response:
        return web.json_response(answers.pop(0) if answers else {"errcode": 0, "errmsg": "ok"})

    fake.route("POST", SESSION_PATH, session)
    shopper = Shopper(base_url(fake))
    assert (await post(client, shopper.message(PRODUCT_QUESTION))).status == 200

    await fake.wait_for(SESSION_PATH, count=session_calls)
    await test_rig.drain()
    await asyncio.sleep(0.2)
    assert len(fake.calls_to(SESSION_PATH)) == session_calls
    assert len(fake.calls_to(GROUP_SEND_PATH)) == api_calls
    assert test_rig.chat.delivery is not None
    assert test_rig.chat.delivery.undelivered("dingtalk") == []


async def test_a_session_webhook_on_a_foreign_host_is_never_posted_to(
    rig: tuple[Rig, TestClient, RasaSpy], fake: FakePlatform
) -> None:
    test_rig, client, _ = rig
    shopper = Shopper("http://127.0.0.2:9")  # not the configured oapi_base
    assert (await post(client, shopper.message(PRODUCT_QUESTION))).status == 200
    await fake.wait_for(GROUP_SEND_PATH)
    await test_rig.drain()
    assert not fake.calls_to(SESSION_PATH)


# ---------------------------------------------------------------------- Stream mode
def callback_frame(data: dict[str, Any], frame_id: str | None = None) -> dict[str, Any]:
    """A Stream CALLBACK frame as DingTalk's gateway sends it (``data`` is a JSON string)."""
    return {
        "specVersion": "1.0",
        "type": "CALLBACK",
        "headers": {
            "appId": "app-id",
            "connectionId": "conn-1",
            "contentType": "application/json",
            "messageId": frame_id or uuid.uuid4().hex,
            "time": str(int(time.time() * 1000)),
            "topic": ChatbotMessage.TOPIC,
        },
        "data": json.dumps(data, ensure_ascii=False),
    }


async def test_stream_handler_acks_a_robot_message_and_it_is_answered(
    fake: FakePlatform, rasa_url: str, tmp_path: Path
) -> None:
    connector = make_connector(fake, mode="stream")
    assert connector.long_connection
    test_rig = Rig(connector, rasa_url, tmp_path)
    await test_rig.start()
    try:
        handler = connector.stream_handler(test_rig.chat.accept)
        shopper = Shopper(base_url(fake))
        frame = callback_frame(shopper.message(PRODUCT_QUESTION), "frame-1")
        ack = await handler.raw_process(CallbackMessage.from_dict(frame))
        assert ack.code == AckMessage.STATUS_OK
        assert ack.headers.message_id == "frame-1"
        # A redelivery of the same message (new frame, same msgId) is acked, not answered again.
        again = callback_frame(json.loads(frame["data"]), "frame-2")
        assert (await handler.raw_process(CallbackMessage.from_dict(again))).code == 200

        await fake.wait_for(SESSION_PATH)
        await test_rig.drain()
        await asyncio.sleep(0.2)
        replies = session_replies(fake, shopper)
        assert len(replies) == 1
        assert replies[0]["at"]["atUserIds"] == [shopper.staff_id]
    finally:
        await test_rig.close()


async def test_stream_connection_opens_with_a_ticket_acks_frames_and_answers(
    fake: FakePlatform, rasa_url: str, tmp_path: Path
) -> None:
    """The whole Stream path: gateway ticket, WebSocket, SDK routing and acks, reply."""
    base = base_url(fake)
    shopper = Shopper(base)
    acks: list[dict[str, Any]] = []
    seen_ticket: list[str] = []
    frame = callback_frame(shopper.message(PRODUCT_QUESTION), "frame-ws-1")
    fake.route(
        "POST", STREAM_OPEN_PATH, {"endpoint": base.replace("http", "ws") + "/gw", "ticket": "t+1"}
    )

    async def gateway(request: web.Request) -> web.StreamResponse:
        seen_ticket.append(request.query.get("ticket", ""))
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        ping = {
            "specVersion": "1.0",
            "type": "SYSTEM",
            "headers": {"topic": "ping", "messageId": "ping-1", "contentType": "application/json"},
            "data": json.dumps({"opaque": "x1"}),
        }
        for outgoing in (ping, frame):
            await socket.send_json(outgoing)
            reply = await socket.receive(timeout=10)
            assert reply.type == WSMsgType.TEXT
            acks.append(json.loads(reply.data))
        disconnect = {**ping, "headers": {"topic": "disconnect", "messageId": "bye"}}
        await socket.send_json(disconnect)
        await socket.receive(timeout=10)  # its ack, then the client closes
        await socket.close()
        return socket

    fake.route("GET", "/gw", gateway)
    connector = make_connector(fake, mode="stream")
    test_rig = Rig(connector, rasa_url, tmp_path)
    await test_rig.start()
    try:
        await asyncio.wait_for(connector.run(test_rig.chat.accept), timeout=30)
        opened = fake.calls_to(STREAM_OPEN_PATH)[0].json()
        assert opened["clientId"] == APP_KEY and opened["clientSecret"] == APP_SECRET
        assert opened["subscriptions"] == [{"type": "CALLBACK", "topic": ChatbotMessage.TOPIC}]
        assert seen_ticket == ["t+1"]
        assert acks[0]["headers"]["messageId"] == "ping-1" and acks[0]["code"] == 200
        assert acks[1]["headers"]["messageId"] == "frame-ws-1" and acks[1]["code"] == 200

        await fake.wait_for(SESSION_PATH)
        await test_rig.drain()
        replies = session_replies(fake, shopper)
        assert len(replies) == 1
        assert replies[0]["text"]["content"].startswith(f"@{shopper.staff_id} ")
    finally:
        await test_rig.close()


async def test_stopping_the_app_ends_an_open_stream_connection_promptly(
    fake: FakePlatform,
) -> None:
    """The SDK's own start() swallows cancellation; the connector's run() must not."""
    base = base_url(fake)
    connected = asyncio.Event()
    fake.route(
        "POST", STREAM_OPEN_PATH, {"endpoint": base.replace("http", "ws") + "/gw", "ticket": "t"}
    )

    async def idle_gateway(request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        connected.set()
        async for _ in socket:
            pass
        return socket

    fake.route("GET", "/gw", idle_gateway)
    connector = make_connector(fake, mode="stream")
    task = asyncio.create_task(connector.run(lambda message: asyncio.sleep(0, result=True)))
    try:
        await asyncio.wait_for(connected.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
    finally:
        await connector.close()


async def test_stream_connection_refused_by_the_gateway_raises_so_the_app_reconnects(
    fake: FakePlatform, rasa_url: str, tmp_path: Path
) -> None:
    fake.route("POST", STREAM_OPEN_PATH, {"code": "InvalidClient"})
    connector = make_connector(fake, mode="stream")
    try:
        with pytest.raises(ConnectionError):
            await connector.run(lambda message: asyncio.sleep(0, result=True))
    finally:
        await connector.close()


# ---------------------------------------------------------------------- configuration
def test_assistant_yml_section_reads_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DINGTALK_APP_KEY", APP_KEY)
    monkeypatch.setenv("DINGTALK_APP_SECRET", APP_SECRET)
    connector = build_connector(
        "dingtalk",
        {
            "mode": "stream",
            "app_key": "${DINGTALK_APP_KEY}",
            "app_secret": "${DINGTALK_APP_SECRET}",
        },
    )
    assert isinstance(connector, DingTalkConnector)
    assert connector.long_connection and connector.robot_code == APP_KEY
    assert APP_SECRET not in json.dumps(connector.describe())
    with pytest.raises(ConnectorConfigError, match="app_secret"):
        build_connector("dingtalk", {"app_key": APP_KEY})


# ---------------------------------------------------------------------- photos
async def test_pictures_are_parsed_and_fetched_through_a_download_code(fake: FakePlatform) -> None:
    connector = make_connector(fake)
    shopper = Shopper(base_url(fake))
    picture = connector.parse(shopper.message("", msgtype="picture"))
    assert picture is not None and picture.text == "" and picture.mentions_assistant
    assert picture.attachments == [{"kind": "image", "ref": "dl-code", "robot_code": APP_KEY}]
    rich = shopper.message("", msgtype="richText")
    rich["content"] = {
        "richText": [{"text": "瓶子漏了"}, {"downloadCode": "dl-2", "type": "picture"}]
    }
    parsed = connector.parse(rich)
    assert parsed is not None and parsed.text == "瓶子漏了"
    assert [a["ref"] for a in parsed.attachments] == ["dl-2"]

    download = "/v1.0/robot/messageFiles/download"
    fake.route("POST", download, {"downloadUrl": f"{base_url(fake)}/files/dl-code.jpg"})
    fake.route("GET", "/files/dl-code.jpg", serve_bytes(JPEG))
    assert await connector.fetch_media(picture.attachments[0]) == JPEG
    (call,) = fake.calls_to(download)
    assert call.json() == {"downloadCode": "dl-code", "robotCode": APP_KEY}
    assert call.headers["x-acs-dingtalk-access-token"].startswith("token-")
    await connector.close()
