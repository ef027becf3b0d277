"""WeCom AI bot (企业微信智能机器人, API mode) behind the real group layer and Rasa.

Callbacks are built the way WeCom builds them: the JSON plaintext from the official docs
(path/100719, 101027), encrypted with wechatpy's WeCom PrpCrypto (receive id "") and signed
with its SHA1 signer; replies arrive at the fake platform's response_url.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.utils import WeChatSigner

from assistant.connectors.base import DeliveryFailed
from assistant.connectors.wecom_bot import (
    MAX_MARKDOWN_BYTES,
    WeComBotConnector,
    WeComBotSettings,
)
from assistant.messages import OutgoingReply
from tests.aftersales.images import JPEG
from tests.connectors.harness import Call, Capture, FakePlatform, Rig, serve_bytes
from tests.stack import KnownOrder

TOKEN = "QDG6eK"
# The EncodingAESKey sample from WeCom's encryption docs (43 characters).
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
OTHER_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
BOT = "澜屿小助手"
WEBHOOK = "/webhooks/wecom_bot"
RESPONSE_PATH = "/cgi-bin/aibot/response"
OK = {"errcode": 0, "errmsg": "ok"}


# ---------------------------------------------------------------------- building callbacks
def encrypt(plaintext: str, key: str = AES_KEY) -> str:
    return PrpCrypto(base64.b64decode(key + "=")).encrypt(plaintext, "").decode()


def decrypt(ciphertext: str) -> str:
    return PrpCrypto(base64.b64decode(AES_KEY + "=")).decrypt(ciphertext, "")


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, encrypted)
    return signer.signature


def signed_query(
    encrypted: str, *, token: str = TOKEN, timestamp: int | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = uuid.uuid4().hex[:10]
    return {
        "msg_signature": signature(token, stamp, nonce, encrypted),
        "timestamp": stamp,
        "nonce": nonce,
    }


@dataclass
class Shopper:
    user_id: str
    chat_id: str

    @classmethod
    def new(cls) -> Shopper:
        return cls(f"u-{uuid.uuid4().hex[:10]}", f"wr{uuid.uuid4().hex[:16]}")


def text_callback(
    base: str, shopper: Shopper, text: str, *, group: bool = True, msgid: str | None = None
) -> dict[str, Any]:
    """A text message callback, shaped as in WeCom's 接收消息 docs."""
    payload: dict[str, Any] = {
        "msgid": msgid or uuid.uuid4().hex,
        "aibotid": "AIBOTID",
        "chattype": "group" if group else "single",
        "from": {"userid": shopper.user_id},
        "response_url": f"{base}{RESPONSE_PATH}?response_code={uuid.uuid4().hex}",
        "msgtype": "text",
        "text": {"content": text},
    }
    if group:
        payload["chatid"] = shopper.chat_id
    return payload


@dataclass
class Env:
    fake: FakePlatform
    base: str
    rig: Rig
    client: TestClient
    rasa_calls: list[str]

    async def post(self, payload: dict[str, Any] | str, **sign: Any) -> web.Response:
        plaintext = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        encrypted = encrypt(plaintext)
        return await self.client.post(
            WEBHOOK, params=signed_query(encrypted, **sign), data=json.dumps({"encrypt": encrypted})
        )

    def replies_to(self, payload: dict[str, Any]) -> list[Call]:
        code = payload["response_url"].rsplit("=", 1)[1]
        return [c for c in self.fake.calls_to(RESPONSE_PATH) if c.query["response_code"] == code]

    def spy_on_rasa(self) -> None:
        """Record every text the group layer hands to Rasa."""
        rasa = self.rig.chat.rasa
        original = rasa.send

        async def send(conversation_id: str, text: str, metadata: dict[str, Any]) -> Any:
            self.rasa_calls.append(text)
            return await original(conversation_id, text, metadata)

        rasa.send = send  # type: ignore[method-assign]


@pytest.fixture
async def env(rasa_url: str, tmp_path: Path) -> AsyncIterator[Env]:
    fake = FakePlatform()
    base = await fake.start()
    fake.route("POST", RESPONSE_PATH, OK)
    settings = WeComBotSettings(
        api_base=base, token=TOKEN, encoding_aes_key=AES_KEY, bot_name=BOT, welcome_text="欢迎~"
    )
    rig = Rig(WeComBotConnector(settings), rasa_url, tmp_path)
    client = await rig.start()
    environment = Env(fake, base, rig, client, [])
    environment.spy_on_rasa()
    yield environment
    await rig.close()
    await fake.close()


def markdown(call: Call) -> str:
    body = call.json()
    assert body["msgtype"] == "markdown", body
    return str(body["markdown"]["content"])


# ---------------------------------------------------------------------- (1) a real callback
async def test_group_question_is_answered_in_the_group_mentioning_the_shopper(env: Env) -> None:
    shopper = Shopper.new()
    payload = text_callback(env.base, shopper, f"@{BOT} 油皮用哪款洗面奶?")

    response = await env.post(payload)

    # WeCom gets an empty acknowledgement at once; the answer comes through response_url.
    assert response.status == 200
    assert await response.text() == ""
    [call] = await env.fake.wait_for(RESPONSE_PATH)
    assert call.method == "POST"
    assert env.replies_to(payload) == [call]
    content = markdown(call)
    assert content.startswith(f"<@{shopper.user_id}> ")
    assert "洁面" in content
    # Rasa saw the question without the @-mention.
    assert env.rasa_calls == ["油皮用哪款洗面奶?"]


async def test_several_replies_to_one_message_arrive_in_one_response(env: Env) -> None:
    # response_url works once: a long message's "I read the first N characters" note and the
    # answer itself must travel together, or the answer would be lost.
    shopper = Shopper.new()
    long_question = f"@{BOT} 油皮用哪款洗面奶?" + "。" * 2100
    payload = text_callback(env.base, shopper, long_question)

    assert (await env.post(payload)).status == 200

    await env.rig.drain()
    [call] = env.replies_to(payload)
    content = markdown(call)
    assert "2000" in content and "洁面" in content
    assert env.rig.chat.delivery.undelivered() == []


async def test_mixed_and_voice_messages_are_read_as_text(env: Env) -> None:
    shopper = Shopper.new()
    mixed = text_callback(env.base, shopper, "")
    mixed["msgtype"] = "mixed"
    mixed["mixed"] = {
        "msg_item": [
            {"msgtype": "text", "text": {"content": f"@{BOT} 油皮用哪款洗面奶?"}},
            {"msgtype": "image", "image": {"url": "https://example.invalid/img"}},
        ]
    }
    del mixed["text"]
    voice = text_callback(env.base, Shopper.new(), "", group=False)
    voice["msgtype"] = "voice"
    voice["voice"] = {"content": "你好"}
    del voice["text"]

    assert (await env.post(mixed)).status == 200
    assert (await env.post(voice)).status == 200

    await env.fake.wait_for(RESPONSE_PATH, 2)
    assert "洁面" in markdown(env.replies_to(mixed)[0])
    assert not markdown(env.replies_to(voice)[0]).startswith("<@")
    assert sorted(env.rasa_calls) == sorted(["油皮用哪款洗面奶?", "你好"])


# ---------------------------------------------------------------------- (2) refused requests
def _tampered(env: Env, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    encrypted = encrypt(json.dumps(payload))
    query = signed_query(encrypted)
    query["msg_signature"] = "0" * 40
    return query, json.dumps({"encrypt": encrypted}).encode()


def _wrong_token(env: Env, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    encrypted = encrypt(json.dumps(payload))
    return signed_query(encrypted, token="not-our-token"), json.dumps(
        {"encrypt": encrypted}
    ).encode()


def _wrong_key(env: Env, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    encrypted = encrypt(json.dumps(payload), key=OTHER_KEY)
    return signed_query(encrypted), json.dumps({"encrypt": encrypted}).encode()


def _stale(env: Env, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    encrypted = encrypt(json.dumps(payload))
    old = int(time.time()) - 301
    return signed_query(encrypted, timestamp=old), json.dumps({"encrypt": encrypted}).encode()


def _not_json(env: Env, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    return signed_query("x"), b"<xml><Encrypt>x</Encrypt></xml>"


def _no_encrypt(env: Env, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    return signed_query(""), json.dumps({"msgtype": "text"}).encode()


def _plaintext_not_json(env: Env, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    encrypted = encrypt("hello, not json")
    return signed_query(encrypted), json.dumps({"encrypt": encrypted}).encode()


def _no_signature(env: Env, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    encrypted = encrypt(json.dumps(payload))
    query = signed_query(encrypted)
    del query["msg_signature"]
    return query, json.dumps({"encrypt": encrypted}).encode()


@pytest.mark.parametrize(
    ("build", "status"),
    [
        (_tampered, 401),
        (_wrong_token, 401),
        (_stale, 401),
        (_wrong_key, 400),
        (_not_json, 400),
        (_no_encrypt, 400),
        (_plaintext_not_json, 400),
        (_no_signature, 400),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)).strip("_"),
)
async def test_refused_callbacks_never_reach_rasa(env: Env, build: Any, status: int) -> None:
    payload = text_callback(env.base, Shopper.new(), f"@{BOT} 油皮用哪款洗面奶?")
    query, body = build(env, payload)

    response = await env.client.post(WEBHOOK, params=query, data=body)

    assert response.status == status
    await env.rig.drain()
    assert env.rasa_calls == []
    assert env.fake.calls == []


def _event(eventtype: str, **extra: Any) -> dict[str, Any]:
    return {
        "msgid": uuid.uuid4().hex,
        "create_time": int(time.time()),
        "aibotid": "AIBOTID",
        "chatid": "CHATID",
        "chattype": "group",
        "from": {"userid": "someone"},
        "msgtype": "event",
        "event": {"eventtype": eventtype, **extra},
    }


@pytest.mark.parametrize(
    "payload",
    [
        {**_event("template_card_event"), "response_url": "https://qyapi.weixin.qq.com/x"},
        _event("feedback_event", feedback_event={"id": "F", "type": 1}),
        _event("some_future_event"),
        {
            "msgid": "m-stream",
            "aibotid": "AIBOTID",
            "chattype": "single",
            "from": {"userid": "someone"},
            "msgtype": "stream",
            "stream": {"id": "STREAMID"},
        },
        {"msgid": "m-new", "chattype": "single", "from": {"userid": "x"}, "msgtype": "hologram"},
    ],
    ids=["card-event", "feedback-event", "unknown-event", "stream-refresh", "unknown-msgtype"],
)
async def test_events_and_unknown_types_are_acknowledged_and_ignored(
    env: Env, payload: dict[str, Any]
) -> None:
    response = await env.post(payload)

    # 200 with an empty body: WeCom must not retry these, and nothing is answered.
    assert response.status == 200
    assert await response.text() == ""
    await env.rig.drain()
    assert env.rasa_calls == []
    assert env.fake.calls == []


async def test_enter_chat_gets_the_encrypted_welcome(env: Env) -> None:
    payload = _event("enter_chat")
    del payload["chatid"]
    payload["chattype"] = "single"

    response = await env.post(payload)

    assert response.status == 200
    body = await response.json()
    assert body["msgsignature"] == signature(
        TOKEN, str(body["timestamp"]), body["nonce"], body["encrypt"]
    )
    assert json.loads(decrypt(body["encrypt"])) == {"msgtype": "text", "text": {"content": "欢迎~"}}
    assert env.rasa_calls == []


# ---------------------------------------------------------------------- (3) URL verification
async def test_url_verification_answers_the_decrypted_echostr(env: Env) -> None:
    echo = "7405346513846386279"
    encrypted = encrypt(echo)

    response = await env.client.get(
        WEBHOOK, params={**signed_query(encrypted), "echostr": encrypted}
    )

    assert response.status == 200
    assert await response.text() == echo  # plain, no quotes, no newline


@pytest.mark.parametrize(("token", "age", "status"), [("wrong", 0, 401), (TOKEN, 3600, 401)])
async def test_url_verification_refuses_bad_signature_or_old_timestamp(
    env: Env, token: str, age: int, status: int
) -> None:
    encrypted = encrypt("12345")
    query = signed_query(encrypted, token=token, timestamp=int(time.time()) - age)

    response = await env.client.get(WEBHOOK, params={**query, "echostr": encrypted})

    assert response.status == status
    assert "12345" not in await response.text()


# ---------------------------------------------------------------------- (4) privacy
async def test_order_question_in_group_asks_to_message_privately(
    env: Env, orders: dict[str, KnownOrder]
) -> None:
    order = orders["transit"]
    shopper = Shopper.new()
    payload = text_callback(
        env.base, shopper, f"@{BOT} 订单{order.order_id} 手机尾号{order.digits} 到哪了"
    )

    assert (await env.post(payload)).status == 200

    await env.fake.wait_for(RESPONSE_PATH)
    await env.rig.drain()
    [call] = env.fake.calls_to(RESPONSE_PATH)
    content = markdown(call)
    assert content.startswith(f"<@{shopper.user_id}> ")
    assert "私聊" in content
    assert "武汉" not in content and order.order_id not in content


async def test_order_question_in_single_chat_is_answered_there(
    env: Env, orders: dict[str, KnownOrder]
) -> None:
    order = orders["transit"]
    shopper = Shopper.new()
    payload = text_callback(
        env.base, shopper, f"订单{order.order_id} 手机尾号{order.digits} 到哪了", group=False
    )

    assert (await env.post(payload)).status == 200

    await env.fake.wait_for(RESPONSE_PATH)
    await env.rig.drain()
    [call] = env.replies_to(payload)
    content = markdown(call)
    assert "武汉" in content
    assert "<@" not in content  # a single chat needs no mention
    assert len(env.fake.calls_to(RESPONSE_PATH)) == 1


# ---------------------------------------------------------------------- (5) platform retries
async def test_a_retried_callback_is_answered_once(env: Env) -> None:
    payload = text_callback(env.base, Shopper.new(), f"@{BOT} 油皮用哪款洗面奶?")

    # WeCom retries with the same msgid (newly encrypted, new nonce and timestamp).
    first = await env.post(payload)
    second = await env.post(payload)

    assert (first.status, second.status) == (200, 200)
    await env.fake.wait_for(RESPONSE_PATH)
    await env.rig.drain()
    assert len(env.fake.calls_to(RESPONSE_PATH)) == 1
    assert len(env.rasa_calls) == 1


# ---------------------------------------------------------------------- (6) restarts
async def test_a_message_received_before_a_restart_is_answered_once_after_it(env: Env) -> None:
    payload = text_callback(env.base, Shopper.new(), f"@{BOT} 油皮用哪款洗面奶?")

    assert (await env.post(payload)).status == 200
    picked_up = await env.rig.restart()

    assert picked_up == 1
    await env.fake.wait_for(RESPONSE_PATH)
    await env.rig.drain()
    [call] = env.fake.calls_to(RESPONSE_PATH)
    assert "洁面" in markdown(call)


# ---------------------------------------------------------------------- (7) failing sends
async def test_5xx_and_429_are_retried_and_delivered_once(env: Env) -> None:
    env.fake.fail(RESPONSE_PATH, 503)
    env.fake.fail(RESPONSE_PATH, 429)
    payload = text_callback(env.base, Shopper.new(), f"@{BOT} 油皮用哪款洗面奶?")

    assert (await env.post(payload)).status == 200

    await env.fake.wait_for(RESPONSE_PATH, 3)
    await env.rig.drain()
    assert len(env.fake.calls_to(RESPONSE_PATH)) == 3  # two refused, one delivered
    assert env.rig.chat.delivery is not None
    assert env.rig.chat.delivery.undelivered("wecom_bot") == []


async def test_busy_errcode_is_retried(env: Env) -> None:
    answers = [{"errcode": -1, "errmsg": "system busy"}, OK]

    async def busy_then_ok(_: web.Request) -> web.Response:
        return web.json_response(answers.pop(0) if answers else OK)

    env.fake.route("POST", RESPONSE_PATH, busy_then_ok)
    payload = text_callback(env.base, Shopper.new(), "你好", group=False)

    assert (await env.post(payload)).status == 200

    await env.fake.wait_for(RESPONSE_PATH, 2)
    await env.rig.drain()
    assert len(env.fake.calls_to(RESPONSE_PATH)) == 2
    assert env.rig.chat.delivery is not None
    assert env.rig.chat.delivery.undelivered("wecom_bot") == []


async def test_expired_response_url_is_not_retried_and_is_recorded(env: Env) -> None:
    # WeCom does not document the code; anything but "busy" or a frequency limit is final.
    env.fake.route("POST", RESPONSE_PATH, {"errcode": 600001, "errmsg": "response_url expired"})
    payload = text_callback(env.base, Shopper.new(), "你好", group=False)

    assert (await env.post(payload)).status == 200

    await env.fake.wait_for(RESPONSE_PATH)
    await env.rig.drain()
    assert len(env.fake.calls_to(RESPONSE_PATH)) == 1
    assert env.rig.chat.delivery is not None
    [lost] = env.rig.chat.delivery.undelivered("wecom_bot")
    assert "600001" in lost["error"]


async def test_long_replies_are_cut_to_wecoms_markdown_limit(env: Env) -> None:
    url = f"{env.base}{RESPONSE_PATH}?response_code=long"
    reply = OutgoingReply(
        platform="wecom_bot",
        chat_id="u1",
        to_user="u1",
        to_user_name="u1",
        text="洁面" * 10_000,
        chat_type="private",
        mention=False,
        context={"response_url": url},
    )

    await env.rig.connector.send(reply)

    [call] = env.fake.calls_to(RESPONSE_PATH)
    assert len(markdown(call).encode()) <= MAX_MARKDOWN_BYTES


async def test_replies_are_only_posted_to_wecoms_api(env: Env) -> None:
    reply = OutgoingReply(
        platform="wecom_bot",
        chat_id="u1",
        to_user="u1",
        to_user_name="u1",
        text="hi",
        context={"response_url": "https://attacker.invalid/cgi-bin/aibot/response?x=1"},
    )

    with pytest.raises(Exception, match="outside") as failure:
        await env.rig.connector.send(reply)

    assert getattr(failure.value, "retryable", None) is False
    assert env.fake.calls == []


def test_settings_refuse_a_malformed_aes_key() -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        WeComBotSettings(token=TOKEN, encoding_aes_key="too-short")


# ---------------------------------------------------------------------- photos
def encrypt_file(data: bytes, key: str) -> bytes:
    """How WeCom serves a picture: AES-256-CBC, IV = first 16 key bytes, PKCS#7 to 32."""
    raw = base64.b64decode(key + "=" * (-len(key) % 4))
    padding = 32 - len(data) % 32
    encryptor = Cipher(algorithms.AES(raw), modes.CBC(raw[:16])).encryptor()
    return encryptor.update(data + bytes([padding]) * padding) + encryptor.finalize()


async def test_pictures_are_parsed_downloaded_and_decrypted() -> None:
    fake = FakePlatform()
    base = await fake.start()
    settings = WeComBotSettings(api_base=base, token=TOKEN, encoding_aes_key=AES_KEY, bot_name=BOT)
    capture = Capture(WeComBotConnector(settings))
    client = await capture.start()
    shopper = Shopper.new()
    image = text_callback(base, shopper, "", group=False)
    del image["text"]
    image["msgtype"], image["image"] = "image", {"url": f"{base}/img/1"}
    # A mixed message's picture may carry its own key.
    mixed = text_callback(base, shopper, "")
    del mixed["text"]
    mixed["msgtype"] = "mixed"
    mixed["mixed"] = {
        "msg_item": [
            {"msgtype": "text", "text": {"content": f"@{BOT} 瓶子裂了"}},
            {"msgtype": "image", "image": {"url": f"{base}/img/2", "aeskey": OTHER_KEY}},
        ]
    }
    for payload in (image, mixed):
        encrypted = encrypt(json.dumps(payload))
        body = json.dumps({"encrypt": encrypted})
        assert (await client.post(WEBHOOK, params=signed_query(encrypted), data=body)).status == 200

    alone, with_words = capture.accepted
    assert alone.attachments == [{"kind": "image", "ref": f"{base}/img/1"}] and alone.text == ""
    assert with_words.text == f"@{BOT} 瓶子裂了"
    assert with_words.attachments == [
        {"kind": "image", "ref": f"{base}/img/2", "aeskey": OTHER_KEY}
    ]
    fake.route(
        "GET", "/img/1", serve_bytes(encrypt_file(JPEG, AES_KEY), "application/octet-stream")
    )
    fake.route(
        "GET", "/img/2", serve_bytes(encrypt_file(JPEG, OTHER_KEY), "application/octet-stream")
    )
    connector = capture.connector
    assert await connector.fetch_media(alone.attachments[0]) == JPEG
    assert await connector.fetch_media(with_words.attachments[0]) == JPEG
    # Bytes that were not encrypted with the key are refused, not passed on as a photo.
    with pytest.raises(DeliveryFailed, match="decrypt"):
        await connector.fetch_media({"kind": "image", "ref": f"{base}/img/2"})
    await capture.close()
    await fake.close()
