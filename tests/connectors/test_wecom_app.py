"""WeCom self-built app: callbacks encrypted and signed as WeCom does (wechatpy's WeChatCrypto),
answered through the real group layer and Rasa, replies checked at a fake WeCom API."""

from __future__ import annotations

import base64
import functools
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import xmltodict
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

from assistant.connectors.wecom_app import WeComAppConnector, WeComAppSettings
from assistant.groupchat.inbox import inbox_table
from tests.aftersales.images import JPEG
from tests.connectors.harness import Capture, FakePlatform, Rig

SEND = "/cgi-bin/message/send"
GETTOKEN = "/cgi-bin/gettoken"
AGENT_ID = 1000002
PRODUCT_QUESTION = "油皮用哪款洗面奶?"


def new_aes_key() -> str:
    """An EncodingAESKey as the console makes one: 43 characters of base64."""
    return base64.b64encode(os.urandom(32)).decode()[:-1]


class WeComSender:
    """Builds callbacks the way WeCom does: encrypted with the EncodingAESKey and signed with
    the Token by wechatpy, posted with msg_signature / timestamp / nonce in the query."""

    def __init__(self, corp_id: str, token: str, aes_key: str) -> None:
        self.corp_id = corp_id
        self.token = token
        self.aes_key = aes_key
        self.crypto = WeChatCrypto(token, aes_key, corp_id)

    def encrypt(self, xml: str, *, timestamp: int | None = None) -> tuple[dict[str, str], str]:
        """(query, body) of a POST carrying ``xml``."""
        stamp = str(timestamp or int(time.time()))
        envelope = xmltodict.parse(self.crypto.encrypt_message(xml, uuid.uuid4().hex[:10], stamp))[
            "xml"
        ]
        query = {
            "msg_signature": envelope["MsgSignature"],
            "timestamp": envelope["TimeStamp"],
            "nonce": envelope["Nonce"],
        }
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID>"
            f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
        )
        return query, body

    def verification(self, echo: str) -> dict[str, str]:
        """The query of the GET WeCom sends when the callback URL is saved in the console."""
        echostr = PrpCrypto(self.crypto.key).encrypt(echo, self.corp_id).decode()
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce, echostr)
        return {"msg_signature": signer.signature, "timestamp": timestamp, "nonce": nonce,
                "echostr": echostr}  # fmt: skip


def text_xml(corp_id: str, user: str, content: str, msg_id: int) -> str:
    """A member's text message to the app, as WeCom's callback decrypts to."""
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
        f"<AgentID>{AGENT_ID}</AgentID></xml>"
    )


def new_user() -> str:
    return f"member-{uuid.uuid4().hex[:12]}"


def new_msg_id() -> int:
    return int.from_bytes(os.urandom(7), "big")


class FakeWeCom(FakePlatform):
    """WeCom's API: gettoken hands out TOKEN1, TOKEN2...; the send API records what arrived and
    answers errcode 42001 to a token in ``expired``."""

    def __init__(self, send_path: str = SEND) -> None:
        super().__init__()
        self.tokens_issued = 0
        self.expired: set[str] = set()
        self.delivered: list[dict[str, Any]] = []
        self.route("GET", GETTOKEN, self._gettoken)
        self.route("POST", send_path, self._send)

    async def _gettoken(self, _: web.Request) -> web.Response:
        self.tokens_issued += 1
        token = f"TOKEN{self.tokens_issued}"
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        )

    async def _send(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") in self.expired:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        body = await request.json()
        body["access_token"] = request.query.get("access_token")
        self.delivered.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": ""})

    def to(self, user: str) -> list[dict[str, Any]]:
        return [d for d in self.delivered if d["touser"] == user]


@dataclass
class AppRig:
    rig: Rig
    client: TestClient
    fake: FakeWeCom
    sender: WeComSender

    async def post(self, xml: str, **kwargs: Any) -> Any:
        query, body = self.sender.encrypt(xml, **kwargs)
        return await self.client.post("/webhooks/wecom_app", params=query, data=body)

    def inbox_rows(self) -> int:
        query = select(func.count()).select_from(inbox_table)
        with self.rig.chat.inbox.engine.connect() as connection:
            return int(
                connection.execute(query.where(inbox_table.c.platform == "wecom_app")).scalar()
            )


def app_settings(api_base: str) -> tuple[WeComAppSettings, WeComSender]:
    """A fresh corp's app settings, and a sender encrypting callbacks with its keys."""
    corp_id, token, aes_key = f"ww{uuid.uuid4().hex[:16]}", uuid.uuid4().hex, new_aes_key()
    settings = WeComAppSettings(
        api_base=api_base,
        corp_id=corp_id,
        secret="app-secret",
        agent_id=AGENT_ID,
        token=token,
        encoding_aes_key=aes_key,
    )
    return settings, WeComSender(corp_id, token, aes_key)


@pytest.fixture
async def app(rasa_url: str, tmp_path: Path) -> AsyncIterator[AppRig]:
    fake = FakeWeCom()
    settings, sender = app_settings(await fake.start())
    rig = Rig(WeComAppConnector(settings), rasa_url, tmp_path)
    client = await rig.start()
    yield AppRig(rig, client, fake, sender)
    await rig.close()
    await fake.close()


async def test_member_message_is_answered_in_their_chat_with_the_app(app: AppRig) -> None:
    user = new_user()
    response = await app.post(text_xml(app.sender.corp_id, user, PRODUCT_QUESTION, new_msg_id()))
    assert response.status == 200
    assert await response.text() == ""  # WeCom's "received, no passive reply"
    await app.rig.drain()

    sent = app.fake.to(user)
    assert sent, "no reply reached message/send"
    for body in sent:
        assert body["msgtype"] == "text" and body["agentid"] == AGENT_ID
        assert body["text"]["content"].strip()
        assert body["access_token"] == "TOKEN1"
        assert not body["text"]["content"].startswith("@")  # one to one: no @-mention
    token_call = app.fake.calls_to(GETTOKEN)[0]
    assert token_call.query == {"corpid": app.sender.corp_id, "corpsecret": "app-secret"}


async def test_url_verification_echoes_the_decrypted_echostr(app: AppRig) -> None:
    query = app.sender.verification("1616140317555161061")
    response = await app.client.get("/webhooks/wecom_app", params=query)
    assert response.status == 200
    assert await response.text() == "1616140317555161061"

    forged = {**query, "msg_signature": "0" * 40}
    response = await app.client.get("/webhooks/wecom_app", params=forged)
    assert response.status == 401


def bad_requests(sender: WeComSender, xml: str) -> dict[str, tuple[int, dict[str, str], str]]:
    """Requests WeCom never sends, by what is wrong with them: (expected status, query, body)."""
    query, body = sender.encrypt(xml)
    other_token = WeComSender(sender.corp_id, "not-the-token", new_aes_key())
    wrong_key = WeComSender(sender.corp_id, sender.token, new_aes_key())
    other_corp = WeComSender("ww-other-corp", sender.token, sender.aes_key)
    stale_query, stale_body = sender.encrypt(xml, timestamp=int(time.time()) - 3600)
    return {
        "tampered signature": (401, {**query, "msg_signature": "f" * 40}, body),
        "wrong token": (401, *other_token.encrypt(xml)),
        "wrong aes key": (400, *wrong_key.encrypt(xml)),
        "other corp": (400, *other_corp.encrypt(xml)),
        "stale timestamp": (401, stale_query, stale_body),
        "no signature": (401, {"timestamp": query["timestamp"]}, body),
        "malformed body": (400, query, "<xml><Encrypt>"),
        "not xml": (400, query, '{"Encrypt": "x"}'),
    }


async def test_bad_requests_are_refused_and_nothing_reaches_rasa(app: AppRig) -> None:
    xml = text_xml(app.sender.corp_id, new_user(), PRODUCT_QUESTION, new_msg_id())
    for case, (status, query, body) in bad_requests(app.sender, xml).items():
        response = await app.client.post("/webhooks/wecom_app", params=query, data=body)
        assert response.status == status, case
    await app.rig.drain()
    assert app.inbox_rows() == 0
    assert app.fake.calls_to(SEND) == []


async def test_events_and_other_message_types_are_acknowledged_and_ignored(app: AppRig) -> None:
    user, corp = new_user(), app.sender.corp_id
    head = f"<ToUserName>{corp}</ToUserName><FromUserName>{user}</FromUserName>"
    head += f"<CreateTime>{int(time.time())}</CreateTime><AgentID>{AGENT_ID}</AgentID>"
    enter = f"<xml>{head}<MsgType>event</MsgType><Event>enter_agent</Event></xml>"
    location = f"<xml>{head}<MsgType>location</MsgType><Location_X>30.1</Location_X>"
    location += f"<Location_Y>120.2</Location_Y><MsgId>{new_msg_id()}</MsgId></xml>"
    unknown = f"<xml>{head}<MsgType>event</MsgType><Event>brand_new_event</Event></xml>"
    for xml in (enter, location, unknown):
        response = await app.post(xml)
        assert response.status == 200
    undecodable = f"<xml>{head}</xml>"  # decrypts, but carries no MsgType
    assert (await app.post(undecodable)).status == 400
    await app.rig.drain()
    assert app.inbox_rows() == 0
    assert app.fake.calls_to(SEND) == []


async def test_order_details_go_to_the_member_only(app: AppRig, orders: dict[str, Any]) -> None:
    order = orders["transit"]
    user = new_user()
    text = f"订单{order.order_id} 手机尾号{order.digits} 到哪了"
    await app.post(text_xml(app.sender.corp_id, user, text, new_msg_id()))
    await app.rig.drain()

    sent = app.fake.to(user)
    assert any("武汉" in body["text"]["content"] for body in sent), sent
    # The app is a private channel: no other chat, and no "sent you privately" pointer.
    assert len(app.fake.delivered) == len(sent)
    assert not any("私信发给你" in body["text"]["content"] for body in sent)


async def test_a_retried_callback_is_answered_once(app: AppRig) -> None:
    user = new_user()
    query, body = app.sender.encrypt(
        text_xml(app.sender.corp_id, user, PRODUCT_QUESTION, new_msg_id())
    )
    first = await app.client.post("/webhooks/wecom_app", params=query, data=body)
    await app.rig.drain()
    answered = len(app.fake.to(user))
    # WeCom retries the very same request when it did not get its 200 within 5 s.
    again = await app.client.post("/webhooks/wecom_app", params=query, data=body)
    await app.rig.drain()
    assert first.status == again.status == 200
    assert answered >= 1
    assert len(app.fake.to(user)) == answered


async def test_a_restart_before_the_reply_answers_once_after_it(app: AppRig) -> None:
    user = new_user()
    await app.post(text_xml(app.sender.corp_id, user, PRODUCT_QUESTION, new_msg_id()))
    picked_up = await app.rig.restart()
    await app.rig.drain()
    texts = [body["text"]["content"] for body in app.fake.to(user)]
    assert picked_up == 1
    assert texts and len(texts) == len(set(texts))


async def test_send_failing_with_5xx_and_429_is_delivered_once(app: AppRig) -> None:
    app.fake.fail(SEND, 502)
    app.fake.fail(SEND, 429)
    user = new_user()
    await app.post(text_xml(app.sender.corp_id, user, PRODUCT_QUESTION, new_msg_id()))
    await app.rig.drain()
    texts = [body["text"]["content"] for body in app.fake.to(user)]
    assert texts and len(texts) == len(set(texts))
    assert len(app.fake.calls_to(SEND)) == len(texts) + 2


async def test_an_expired_access_token_is_refreshed_and_the_send_succeeds(app: AppRig) -> None:
    user = new_user()
    await app.post(text_xml(app.sender.corp_id, user, PRODUCT_QUESTION, new_msg_id()))
    await app.rig.drain()
    app.fake.expired.add("TOKEN1")  # WeCom ends a token's life early (errcode 42001)
    user2 = new_user()
    await app.post(text_xml(app.sender.corp_id, user2, PRODUCT_QUESTION, new_msg_id()))
    await app.rig.drain()
    sent = app.fake.to(user2)
    assert sent and all(body["access_token"] == "TOKEN2" for body in sent)
    assert len(app.fake.calls_to(GETTOKEN)) == 2


# ---------------------------------------------------------------------- photos
def image_xml(corp_id: str, user: str, media_id: str) -> str:
    """A member's picture to the app, as WeCom's callback decrypts to."""
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[https://wework.qpic.cn/preview]]></PicUrl>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{new_msg_id()}</MsgId>"
        f"<AgentID>{AGENT_ID}</AgentID></xml>"
    )


async def media_get(fake: FakeWeCom, request: web.Request) -> web.StreamResponse:
    """media/get: the file, or WeCom's JSON errcode for an expired token."""
    if request.query.get("access_token") in fake.expired:
        return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
    return web.Response(body=JPEG, content_type="image/jpeg")


async def test_a_picture_is_parsed_and_fetched_by_media_id_refreshing_an_expired_token() -> None:
    fake = FakeWeCom()
    settings, sender = app_settings(await fake.start())
    fake.route("GET", "/cgi-bin/media/get", functools.partial(media_get, fake))
    capture = Capture(WeComAppConnector(settings))
    client = await capture.start()
    query, body = sender.encrypt(image_xml(sender.corp_id, new_user(), "MEDIA_1"))
    assert (await client.post("/webhooks/wecom_app", params=query, data=body)).status == 200

    (parsed,) = capture.accepted
    assert parsed.attachments == [{"kind": "image", "ref": "MEDIA_1"}] and parsed.text == ""
    fake.expired.add("TOKEN1")
    assert await capture.connector.fetch_media(parsed.attachments[0]) == JPEG
    calls = fake.calls_to("/cgi-bin/media/get")
    assert [(c.query["access_token"], c.query["media_id"]) for c in calls] == [
        ("TOKEN1", "MEDIA_1"),
        ("TOKEN2", "MEDIA_1"),
    ]
    await capture.close()
    await fake.close()
