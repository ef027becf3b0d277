"""Feishu / Lark connector: real group layer and Rasa, a fake Feishu Open Platform.

Requests are built the way Feishu builds them: AES-256-CBC with key sha256(Encrypt Key), random
IV, base64 (checked against the documented sample and the SDK's own ``AESCipher``), and
X-Lark-Signature = sha256(timestamp + nonce + encrypt_key + body) (checked with the SDK's own
verifier). Long connection runs the SDK's real ``lark_oapi.ws.Client`` against a local fake
WebSocket endpoint speaking the SDK's protobuf frames.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from Crypto.Cipher import AES
from lark_oapi.core.model import RawRequest
from lark_oapi.core.utils import AESCipher
from lark_oapi.event.dispatcher_handler import EventDispatcherHandler
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

from assistant.connectors.feishu import FeishuConnector, FeishuSettings
from assistant.messages import IncomingMessage
from tests.aftersales.images import JPEG
from tests.connectors.harness import Capture, FakePlatform, Rig, serve_bytes
from tests.stack import KnownOrder

APP_ID = "cli_a1b2c3d4e5f6"
APP_SECRET = "app-secret-for-tests"
TOKEN = "verification-token-xyz"
KEY = "encrypt-key-for-tests"
BOT_OPEN_ID = "ou_bot0000000000000000000000000"
BOT_NAME = "澜屿小助手"
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
MESSAGES = "/open-apis/im/v1/messages"
WAIT = 120.0  # Rasa is shared by several test workers


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def reply_path(message_id: str) -> str:
    return f"{MESSAGES}/{message_id}/reply"


# ---------------------------------------------------------------------- Feishu-side builders
def encrypt(plaintext: str, key: str) -> str:
    """Feishu's event encryption: AES-256-CBC, key sha256(Encrypt Key), IV prepended, base64."""
    iv = os.urandom(16)
    data = plaintext.encode()
    pad = 16 - len(data) % 16
    cipher = AES.new(hashlib.sha256(key.encode()).digest(), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(data + bytes([pad]) * pad)).decode()


def signed_request(
    payload: dict[str, Any],
    *,
    key: str | None = KEY,
    timestamp: int | None = None,
    signing_key: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers Feishu posts: encrypted and signed when an Encrypt Key is set."""
    headers = {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "X-Lark-Request-Nonce": uuid.uuid4().hex[:10],
    }
    if key is None:
        return json.dumps(payload, ensure_ascii=False).encode(), headers
    body = json.dumps({"encrypt": encrypt(json.dumps(payload, ensure_ascii=False), key)}).encode()
    base = headers["X-Lark-Request-Timestamp"] + headers["X-Lark-Request-Nonce"]
    base += signing_key if signing_key is not None else key
    headers["X-Lark-Signature"] = hashlib.sha256(base.encode() + body).hexdigest()
    return body, headers


def message_event(
    *,
    chat_id: str,
    sender: str,
    text: str,
    message_id: str | None = None,
    chat_type: str = "group",
    mention_bot: bool = True,
    parent_id: str = "",
    token: str = TOKEN,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An ``im.message.receive_v1`` event (schema 2.0) as Feishu sends it. ``text`` names the
    bot as ``@_user_1``, as Feishu's content does."""
    mentions = []
    if mention_bot:
        mentions.append(
            {
                "key": "@_user_1",
                "id": {"open_id": BOT_OPEN_ID, "union_id": "on_bot", "user_id": None},
                "name": BOT_NAME,
                "tenant_key": "tenant",
            }
        )
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id or uuid.uuid4().hex,
            "event_type": "im.message.receive_v1",
            "create_time": str(int(time.time() * 1000)),
            "token": token,
            "app_id": APP_ID,
            "tenant_key": "tenant",
        },
        "event": {
            "sender": {
                "sender_id": {"open_id": sender, "union_id": "on_x", "user_id": None},
                "sender_type": "user",
                "tenant_key": "tenant",
            },
            "message": {
                "message_id": message_id or new_id("om"),
                "root_id": parent_id,
                "parent_id": parent_id,
                "create_time": str(int(time.time() * 1000)),
                "chat_id": chat_id,
                "chat_type": chat_type,
                "message_type": "text",
                "content": json.dumps({"text": text}, ensure_ascii=False),
                "mentions": mentions,
            },
        },
    }


# ---------------------------------------------------------------------- fixtures
class Spy:
    """Records what reached the group layer (so a refused request provably went nowhere)."""

    def __init__(self, rig: Rig) -> None:
        self.messages: list[IncomingMessage] = []
        original = rig.chat.accept

        async def accept(message: IncomingMessage) -> bool:
            self.messages.append(message)
            return await original(message)

        rig.chat.accept = accept  # type: ignore[method-assign]


@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    fake = FakePlatform()
    issued: list[str] = []

    async def token(request: web.Request) -> web.Response:
        body = await request.json()
        if body != {"app_id": APP_ID, "app_secret": APP_SECRET}:
            return web.json_response({"code": 10014, "msg": "app secret invalid"})
        issued.append(f"t-{len(issued) + 1}")
        return web.json_response(
            {"code": 0, "msg": "ok", "tenant_access_token": issued[-1], "expire": 7200}
        )

    async def send(request: web.Request) -> web.Response:
        return web.json_response(
            {"code": 0, "msg": "success", "data": {"message_id": new_id("om")}}
        )

    fake.route("POST", TOKEN_PATH, token)
    fake.route(
        "GET", "/open-apis/bot/v3/info", {"code": 0, "msg": "ok", "bot": {"open_id": BOT_OPEN_ID}}
    )
    fake.route("POST", MESSAGES, send)
    fake.send_handler = send  # type: ignore[attr-defined]
    await fake.start()
    yield fake
    await fake.close()


def connector_for(platform: FakePlatform, **settings: Any) -> FeishuConnector:
    assert platform.server is not None
    values: dict[str, Any] = {
        "api_base": str(platform.server.make_url("")).rstrip("/"),
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "verification_token": TOKEN,
        "encrypt_key": KEY,
        "bot_name": BOT_NAME,
        **settings,
    }
    return FeishuConnector(FeishuSettings(**values))


@pytest.fixture
async def rigged(
    platform: FakePlatform, rasa_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Rig, Any]]:
    settings = getattr(request, "param", {})
    rig = Rig(connector_for(platform, **settings), rasa_url, tmp_path)
    client = await rig.start()
    yield rig, client
    await rig.close()


def expect_reply(platform: FakePlatform, message_id: str) -> str:
    path = reply_path(message_id)
    platform.route("POST", path, platform.send_handler)  # type: ignore[attr-defined]
    return path


def sent_text(call: Any) -> str:
    return str(json.loads(call.json()["content"])["text"])


# ---------------------------------------------------------------------- the builders are Feishu's
def test_request_builders_match_feishu_and_sdk() -> None:
    # Feishu's documented sample: Encrypt Key "test key" → "hello world".
    assert AESCipher("test key").decrypt_str("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=") == (
        "hello world"
    )
    assert AESCipher(KEY).decrypt_str(encrypt("你好 hello", KEY)) == "你好 hello"
    body, headers = signed_request({"a": 1})
    raw = RawRequest()
    raw.headers, raw.body = headers, body
    EventDispatcherHandler()._verify_sign(raw, KEY)  # raises if the SDK disagrees


# ---------------------------------------------------------------------- (1) signed event → reply
@pytest.mark.parametrize("rigged", [{"reply_in_thread": True}], indirect=True)
async def test_encrypted_mention_is_answered_in_thread_mentioning_the_shopper(
    rigged: tuple[Rig, Any], platform: FakePlatform
) -> None:
    rig, client = rigged
    chat, shopper, message_id = new_id("oc"), new_id("ou"), new_id("om")
    path = expect_reply(platform, message_id)
    event = message_event(
        chat_id=chat, sender=shopper, text="@_user_1 油皮用哪款洗面奶?", message_id=message_id
    )
    body, headers = signed_request(event)
    response = await client.post("/webhooks/feishu", data=body, headers=headers)
    assert response.status == 200

    calls = await platform.wait_for(path, 1, timeout=WAIT)
    await rig.drain(WAIT)
    sent = calls[0].json()
    assert calls[0].headers["Authorization"] == "Bearer t-1"
    assert sent["msg_type"] == "text" and sent["reply_in_thread"] is True and sent["uuid"]
    text = sent_text(calls[0])
    assert text.startswith(f'<at user_id="{shopper}"></at> ')
    assert len(text) > len(f'<at user_id="{shopper}"></at> ') + 5
    # The bot's open_id was learnt from the API (not configured) and nothing else was sent.
    assert platform.calls_to("/open-apis/bot/v3/info")
    assert len(platform.calls_to(path)) == 1 and not platform.calls_to(MESSAGES)


@pytest.mark.parametrize("rigged", [{"encrypt_key": ""}], indirect=True)
async def test_plain_private_chat_is_answered_in_that_chat(
    rigged: tuple[Rig, Any], platform: FakePlatform
) -> None:
    rig, client = rigged
    chat, shopper = new_id("oc"), new_id("ou")
    event = message_event(
        chat_id=chat,
        sender=shopper,
        text="有适合敏感肌的面霜吗?",
        chat_type="p2p",
        mention_bot=False,
    )
    body, headers = signed_request(event, key=None)
    assert (await client.post("/webhooks/feishu", data=body, headers=headers)).status == 200

    calls = await platform.wait_for(MESSAGES, 1, timeout=WAIT)
    await rig.drain(WAIT)
    assert calls[0].query == {"receive_id_type": "chat_id"}
    assert calls[0].json()["receive_id"] == chat
    assert "<at" not in sent_text(calls[0])  # no @-mention in a one-to-one chat


async def test_group_message_for_someone_else_is_ignored_but_a_reply_to_the_bot_is_answered(
    rigged: tuple[Rig, Any], platform: FakePlatform
) -> None:
    rig, client = rigged
    spy = Spy(rig)
    chat, shopper = new_id("oc"), new_id("ou")
    other = message_event(
        chat_id=chat, sender=shopper, text="大家好,今天天气不错", mention_bot=False
    )
    body, headers = signed_request(other)
    assert (await client.post("/webhooks/feishu", data=body, headers=headers)).status == 200

    bot_message, message_id = new_id("om"), new_id("om")
    platform.route(
        "GET",
        f"{MESSAGES}/{bot_message}",
        {"code": 0, "data": {"items": [{"sender": {"id": APP_ID, "sender_type": "app"}}]}},
    )
    path = expect_reply(platform, message_id)
    quoted = message_event(
        chat_id=chat,
        sender=shopper,
        text="油皮用哪款洗面奶?",
        message_id=message_id,
        mention_bot=False,
        parent_id=bot_message,
    )
    body, headers = signed_request(quoted)
    assert (await client.post("/webhooks/feishu", data=body, headers=headers)).status == 200
    await platform.wait_for(path, 1, timeout=WAIT)
    await rig.drain(WAIT)
    assert [m.replies_to_assistant for m in spy.messages] == [False, True]
    assert [m.mentions_assistant for m in spy.messages] == [False, False]
    assert len(platform.calls) == len(platform.calls_to(path)) + len(
        platform.calls_to(TOKEN_PATH)
    ) + len(platform.calls_to(f"{MESSAGES}/{bot_message}"))


# ---------------------------------------------------------------------- (2) refused requests
def _tampered(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body, headers = signed_request(event)
    headers["X-Lark-Signature"] = "0" * 64
    return body, headers


def _wrong_key(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return signed_request(event, key="someone-elses-key")


def _undecryptable(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    # Correctly signed, but the ciphertext is garbage (a broken proxy, a truncated body).
    body, headers = signed_request(event)
    garbled = json.dumps({"encrypt": base64.b64encode(b"x" * 40).decode()}).encode()
    base = headers["X-Lark-Request-Timestamp"] + headers["X-Lark-Request-Nonce"] + KEY
    headers["X-Lark-Signature"] = hashlib.sha256(base.encode() + garbled).hexdigest()
    return garbled, headers


def _stale(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return signed_request(event, timestamp=int(time.time()) - 301)


def _bad_token(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    event["header"]["token"] = "not-the-token"
    return signed_request(event)


def _malformed(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body, headers = signed_request(event)
    body = body[: len(body) // 2]
    base = headers["X-Lark-Request-Timestamp"] + headers["X-Lark-Request-Nonce"] + KEY
    headers["X-Lark-Signature"] = hashlib.sha256(base.encode() + body).hexdigest()
    return body, headers


def _unsigned(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body, headers = signed_request(event)
    del headers["X-Lark-Signature"]
    return body, headers


def _unknown_event(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    event["header"]["event_type"] = "im.chat.member.bot.added_v1"
    return signed_request(event)


@pytest.mark.parametrize(
    ("build", "status"),
    [
        (_tampered, 401),
        (_wrong_key, 401),
        (_undecryptable, 400),
        (_stale, 401),
        (_bad_token, 401),
        (_malformed, 400),
        (_unsigned, 401),
        (_unknown_event, 200),
    ],
)
async def test_refused_or_foreign_requests_reach_nobody(
    rigged: tuple[Rig, Any], platform: FakePlatform, build: Any, status: int
) -> None:
    rig, client = rigged
    spy = Spy(rig)
    event = message_event(chat_id=new_id("oc"), sender=new_id("ou"), text="@_user_1 你好")
    body, headers = build(event)
    response = await client.post("/webhooks/feishu", data=body, headers=headers)
    assert response.status == status
    await rig.drain(WAIT)
    assert spy.messages == []
    assert not [c for c in platform.calls if c.path.startswith(MESSAGES)]


# ---------------------------------------------------------------------- (3) URL verification
@pytest.mark.parametrize(("key", "encrypted"), [("", False), (KEY, True)])
async def test_url_verification_echoes_the_challenge(
    platform: FakePlatform, rasa_url: str, tmp_path: Path, key: str, encrypted: bool
) -> None:
    rig = Rig(connector_for(platform, encrypt_key=key), rasa_url, tmp_path)
    client = await rig.start()
    try:
        challenge = {"challenge": uuid.uuid4().hex, "token": TOKEN, "type": "url_verification"}
        body = json.dumps(challenge).encode()
        if encrypted:  # Feishu encrypts the challenge too, without signature headers
            body = json.dumps({"encrypt": encrypt(body.decode(), KEY)}).encode()
        response = await client.post("/webhooks/feishu", data=body)
        assert response.status == 200
        assert await response.json() == {"challenge": challenge["challenge"]}

        forged = dict(challenge, token="guess")
        body = json.dumps(forged).encode()
        if encrypted:
            body = json.dumps({"encrypt": encrypt(body.decode(), KEY)}).encode()
        assert (await client.post("/webhooks/feishu", data=body)).status == 401
    finally:
        await rig.close()


# ---------------------------------------------------------------------- (4) private routing
async def test_order_details_go_to_the_shopper_privately_and_the_group_gets_a_pointer(
    rigged: tuple[Rig, Any], platform: FakePlatform, orders: dict[str, KnownOrder]
) -> None:
    rig, client = rigged
    order = orders["transit"]
    chat, shopper, message_id = new_id("oc"), new_id("ou"), new_id("om")
    path = expect_reply(platform, message_id)
    event = message_event(
        chat_id=chat,
        sender=shopper,
        text=f"@_user_1 订单{order.order_id} 手机尾号{order.digits} 到哪了",
        message_id=message_id,
    )
    body, headers = signed_request(event)
    assert (await client.post("/webhooks/feishu", data=body, headers=headers)).status == 200

    private = await platform.wait_for(MESSAGES, 1, timeout=WAIT)
    group = await platform.wait_for(path, 1, timeout=WAIT)
    await rig.drain(WAIT)
    assert private[0].query == {"receive_id_type": "open_id"}
    assert private[0].json()["receive_id"] == shopper
    assert "武汉" in "".join(sent_text(c) for c in private)
    group_text = "".join(sent_text(c) for c in group)
    assert group_text.startswith(f'<at user_id="{shopper}"></at>')
    assert "私信" in group_text and "武汉" not in group_text and order.digits not in group_text


# ---------------------------------------------------------------------- (5) platform retry
async def test_redelivered_event_is_answered_once(
    rigged: tuple[Rig, Any], platform: FakePlatform
) -> None:
    rig, client = rigged
    chat, shopper, message_id, event_id = new_id("oc"), new_id("ou"), new_id("om"), uuid.uuid4().hex
    path = expect_reply(platform, message_id)
    for _ in range(2):  # Feishu re-delivers the same event (same ids, new timestamp and nonce)
        event = message_event(
            chat_id=chat,
            sender=shopper,
            text="@_user_1 油皮用哪款洗面奶?",
            message_id=message_id,
            event_id=event_id,
        )
        body, headers = signed_request(event)
        assert (await client.post("/webhooks/feishu", data=body, headers=headers)).status == 200
    await platform.wait_for(path, 1, timeout=WAIT)
    await rig.drain(WAIT)
    assert len(platform.calls_to(path)) == 1


# ---------------------------------------------------------------------- (6) restart
async def test_message_received_before_a_restart_is_answered_once_after_it(
    rigged: tuple[Rig, Any], platform: FakePlatform
) -> None:
    rig, client = rigged
    chat, shopper, message_id = new_id("oc"), new_id("ou"), new_id("om")
    path = expect_reply(platform, message_id)
    event = message_event(
        chat_id=chat, sender=shopper, text="@_user_1 油皮用哪款洗面奶?", message_id=message_id
    )
    body, headers = signed_request(event)
    assert (await client.post("/webhooks/feishu", data=body, headers=headers)).status == 200
    assert await rig.restart() >= 1
    await platform.wait_for(path, 1, timeout=WAIT)
    await rig.drain(WAIT)
    assert len(platform.calls_to(path)) == 1


# ---------------------------------------------------------------------- (7) send failures
async def test_send_failing_with_5xx_and_429_is_delivered_once(
    rigged: tuple[Rig, Any], platform: FakePlatform
) -> None:
    rig, client = rigged
    chat, shopper, message_id = new_id("oc"), new_id("ou"), new_id("om")
    path = expect_reply(platform, message_id)
    platform.fail(path, 503, times=1)
    platform.fail(
        path, 429, times=1, body={"code": 99991400, "msg": "request trigger frequency limit"}
    )
    event = message_event(
        chat_id=chat, sender=shopper, text="@_user_1 油皮用哪款洗面奶?", message_id=message_id
    )
    body, headers = signed_request(event)
    assert (await client.post("/webhooks/feishu", data=body, headers=headers)).status == 200
    calls = await platform.wait_for(path, 3, timeout=WAIT)
    await rig.drain(WAIT)
    assert len(platform.calls_to(path)) == 3  # two refused, one delivered
    assert len({c.json()["uuid"] for c in calls}) == 1  # Feishu would drop a double anyway
    assert rig.chat.delivery is not None and rig.chat.delivery.undelivered("feishu") == []


async def test_expired_token_is_refreshed_and_the_reply_still_arrives(
    rigged: tuple[Rig, Any], platform: FakePlatform
) -> None:
    rig, client = rigged
    chat, shopper, message_id = new_id("oc"), new_id("ou"), new_id("om")
    path = expect_reply(platform, message_id)
    expired = {"code": 99991663, "msg": "Invalid access token for authorization."}
    platform.fail(path, 400, times=1, body=expired)
    event = message_event(
        chat_id=chat, sender=shopper, text="@_user_1 油皮用哪款洗面奶?", message_id=message_id
    )
    body, headers = signed_request(event)
    assert (await client.post("/webhooks/feishu", data=body, headers=headers)).status == 200
    calls = await platform.wait_for(path, 2, timeout=WAIT)
    await rig.drain(WAIT)
    assert [c.headers["Authorization"] for c in calls] == ["Bearer t-1", "Bearer t-2"]
    assert len(platform.calls_to(TOKEN_PATH)) == 2 and len(calls) == 2


# ---------------------------------------------------------------------- long connection
class FakeFeishuSocket:
    """Feishu's long-connection endpoint: hands out a ws:// URL, pushes event frames over the
    SDK's protobuf protocol and collects the SDK's acknowledgements."""

    def __init__(self, platform: FakePlatform) -> None:
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.acks: list[dict[str, Any]] = []
        self.connections = 0
        assert platform.server is not None
        url = str(platform.server.make_url("/ws")).replace("http://", "ws://")
        config = {"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0}
        platform.route(
            "POST",
            "/callback/ws/endpoint",
            {
                "code": 0,
                "data": {
                    "URL": f"{url}?device_id=dev1&service_id=7",
                    "ClientConfig": {**config, "PingInterval": 120},
                },
            },
        )
        platform.route("GET", "/ws", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1

        async def push() -> None:
            while True:
                event = await self.outbox.get()
                frame = Frame(SeqID=1, LogID=1, service=7, method=1)
                for key, value in (
                    ("type", "event"),
                    ("message_id", uuid.uuid4().hex),
                    ("trace_id", uuid.uuid4().hex),
                    ("sum", "1"),
                    ("seq", "0"),
                ):
                    header = frame.headers.add()
                    header.key, header.value = key, value
                frame.payload = json.dumps(event, ensure_ascii=False).encode()
                await ws.send_bytes(frame.SerializeToString())

        pusher = asyncio.create_task(push())
        try:
            async for message in ws:
                frame = Frame()
                frame.ParseFromString(message.data)
                if frame.method == 1:  # a data frame coming back: the SDK's acknowledgement
                    self.acks.append(json.loads(frame.payload))
        finally:
            pusher.cancel()
        return ws


async def test_long_connection_event_reaches_the_group_layer_and_is_answered(
    platform: FakePlatform, rasa_url: str, tmp_path: Path
) -> None:
    socket = FakeFeishuSocket(platform)
    connector = connector_for(
        platform, mode="long_connection", verification_token="", encrypt_key=""
    )
    assert connector.long_connection
    rig = Rig(connector, rasa_url, tmp_path)
    await rig.start()
    spy = Spy(rig)
    runner = asyncio.create_task(connector.run(lambda m: rig.chat.accept(m)))
    try:
        chat, shopper, message_id = new_id("oc"), new_id("ou"), new_id("om")
        path = expect_reply(platform, message_id)
        event = message_event(
            chat_id=chat,
            sender=shopper,
            text="@_user_1 油皮用哪款洗面奶?",
            message_id=message_id,
            token="",
        )
        await socket.outbox.put(event)
        await socket.outbox.put(event)  # a re-delivery over the socket: answered once too
        calls = await platform.wait_for(path, 1, timeout=WAIT)
        await rig.drain(WAIT)
        assert sent_text(calls[0]).startswith(f'<at user_id="{shopper}"></at> ')
        assert [m.mentions_assistant for m in spy.messages] == [True, True]
        assert spy.messages[0].text == f"@{BOT_NAME} 油皮用哪款洗面奶?"
        assert len(platform.calls_to(path)) == 1
        for _ in range(100):  # acknowledged to Feishu only after the message was stored
            if len(socket.acks) == 2:
                break
            await asyncio.sleep(0.05)
        assert socket.acks == [{"code": 200}, {"code": 200}]
        assert socket.connections == 1
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
        await rig.close()
    assert connector._ws_loop is None  # the SDK's thread and loop are gone


async def test_rich_text_mention_is_read_like_a_text_message(
    rigged: tuple[Rig, Any], platform: FakePlatform
) -> None:
    rig, client = rigged
    spy = Spy(rig)
    chat, shopper, message_id = new_id("oc"), new_id("ou"), new_id("om")
    path = expect_reply(platform, message_id)
    event = message_event(chat_id=chat, sender=shopper, text="", message_id=message_id)
    event["event"]["message"]["message_type"] = "post"
    event["event"]["message"]["content"] = json.dumps(
        {
            "title": "",
            "content": [
                [
                    {"tag": "at", "user_id": "@_user_1", "user_name": BOT_NAME},
                    {"tag": "text", "text": " 油皮用哪款洗面奶?"},
                ]
            ],
        },
        ensure_ascii=False,
    )
    body, headers = signed_request(event)
    assert (await client.post("/webhooks/feishu", data=body, headers=headers)).status == 200
    await platform.wait_for(path, 1, timeout=WAIT)
    await rig.drain(WAIT)
    assert spy.messages[0].mentions_assistant
    assert spy.messages[0].text == f"@{BOT_NAME} 油皮用哪款洗面奶?"


async def test_long_connection_with_rejected_credentials_ends_so_the_gateway_retries(
    platform: FakePlatform,
) -> None:
    platform.route("POST", "/callback/ws/endpoint", {"code": 10003, "msg": "invalid app_secret"})
    connector = connector_for(platform, mode="long_connection")
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(connector.run(lambda m: asyncio.sleep(0, result=True)), 30)
    assert connector._ws_loop is None
    await connector.close()


# ---------------------------------------------------------------------- photos
async def test_images_are_parsed_and_fetched_as_message_resources(platform: FakePlatform) -> None:
    capture = Capture(connector_for(platform))
    client = await capture.start()
    shopper, chat = new_id("ou"), new_id("oc")
    image = message_event(chat_id=chat, sender=shopper, text="", chat_type="p2p", mention_bot=False)
    image["event"]["message"]["message_type"] = "image"
    image["event"]["message"]["content"] = json.dumps({"image_key": "img_v2_abc"})
    post = message_event(chat_id=chat, sender=shopper, text="")
    post["event"]["message"]["message_type"] = "post"
    post["event"]["message"]["content"] = json.dumps(
        {
            "title": "",
            "content": [
                [{"tag": "at", "user_id": "@_user_1"}, {"tag": "text", "text": " 瓶盖裂了"}],
                [{"tag": "img", "image_key": "img_v2_def"}],
            ],
        },
        ensure_ascii=False,
    )
    for event in (image, post):
        body, headers = signed_request(event)
        assert (await client.post("/webhooks/feishu", data=body, headers=headers)).status == 200

    alone, with_words = capture.accepted
    image_id = image["event"]["message"]["message_id"]
    assert alone.attachments == [{"kind": "image", "ref": "img_v2_abc", "message_id": image_id}]
    assert alone.text == ""
    assert with_words.mentions_assistant and with_words.text == f"@{BOT_NAME} 瓶盖裂了"
    assert [a["ref"] for a in with_words.attachments] == ["img_v2_def"]

    resource = f"{MESSAGES}/{image_id}/resources/img_v2_abc"
    platform.fail(resource, 400, body={"code": 99991663, "msg": "token expired"})
    platform.route("GET", resource, serve_bytes(JPEG))
    assert await capture.connector.fetch_media(alone.attachments[0]) == JPEG
    first, second = platform.calls_to(resource)
    assert second.query == {"type": "image"}
    assert first.headers["Authorization"] != second.headers["Authorization"]  # refreshed
    await capture.close()
