"""WeChat Customer Service: an encrypted "something new" callback, messages pulled from a fake
kf/sync_msg by cursor, answers through the real group layer and Rasa to kf/send_msg."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from assistant.connectors.wechat_kf import WeChatKfConnector, WeChatKfSettings
from assistant.groupchat.inbox import inbox_table
from tests.aftersales.images import JPEG
from tests.connectors.harness import Rig, serve_bytes
from tests.connectors.test_wecom_app import (
    GETTOKEN,
    PRODUCT_QUESTION,
    FakeWeCom,
    WeComSender,
    bad_requests,
    new_aes_key,
)

SYNC = "/cgi-bin/kf/sync_msg"
SEND = "/cgi-bin/kf/send_msg"
CUSTOMER, AGENT = 3, 5  # sync_msg origin: a shopper's message, an agent's reply


class FakeKf(FakeWeCom):
    """WeCom's customer-service API. ``log`` is every message in arrival order; sync_msg serves
    it from cursor ``c<index>`` in pages of ``limit`` and records each request it gets."""

    def __init__(self) -> None:
        super().__init__(send_path=SEND)
        self.log: list[dict[str, Any]] = []
        self.syncs: list[dict[str, Any]] = []
        self.route("POST", SYNC, self._sync)

    def says(self, open_kfid: str, user: str, text: str, *, origin: int = CUSTOMER) -> str:
        msgid = uuid.uuid4().hex
        self.log.append(
            {
                "msgid": msgid,
                "open_kfid": open_kfid,
                "external_userid": user,
                "send_time": int(time.time()),
                "origin": origin,
                "msgtype": "text",
                "text": {"content": text},
            }
        )
        return msgid

    async def _sync(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") in self.expired:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        body = await request.json()
        self.syncs.append(body)
        cursor = body.get("cursor") or "c0"
        start = int(cursor[1:])
        page = self.log[start : start + int(body.get("limit") or 1000)]
        end = start + len(page)
        wanted = body.get("open_kfid")
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "next_cursor": f"c{end}",
                "has_more": int(end < len(self.log)),
                "msg_list": [m for m in page if not wanted or m["open_kfid"] == wanted],
            }
        )


def callback_xml(corp_id: str, open_kfid: str, token: str = "ENCApHxnGDNAVNY4AaSJK") -> str:
    """What WeCom's kf callback decrypts to: there is something new for ``open_kfid``."""
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[{token}]]></Token>"
        f"<OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>"
    )


def new_customer() -> str:
    return f"wm{uuid.uuid4().hex[:20]}"


@dataclass
class KfRig:
    rig: Rig
    client: TestClient
    fake: FakeKf
    sender: WeComSender
    open_kfid: str

    async def notify(self, token: str = "ENCApHxnGDNAVNY4AaSJK") -> Any:
        """WeCom's callback for this account; returns the HTTP response."""
        query, body = self.sender.encrypt(callback_xml(self.sender.corp_id, self.open_kfid, token))
        return await self.client.post("/webhooks/wechat_kf", params=query, data=body)

    def says(self, user: str, text: str, **kwargs: Any) -> str:
        return self.fake.says(self.open_kfid, user, text, **kwargs)

    def inbox_rows(self) -> int:
        query = select(func.count()).select_from(inbox_table)
        query = query.where(inbox_table.c.platform == "wechat_kf")
        with self.rig.chat.inbox.engine.connect() as connection:
            return int(connection.execute(query).scalar())


StartKf = Callable[..., Awaitable[KfRig]]


@pytest.fixture
async def start_kf(rasa_url: str, tmp_path: Path) -> AsyncIterator[StartKf]:
    """Starts the connector behind a rig; called again, a fresh connector on the same fake
    WeCom, credentials and database (an app restart)."""
    fake = FakeKf()
    api_base = await fake.start()
    corp_id, token, aes_key = f"ww{uuid.uuid4().hex[:16]}", uuid.uuid4().hex, new_aes_key()
    open_kfid = f"wk{uuid.uuid4().hex[:16]}"
    rigs: list[Rig] = []

    async def start(**overrides: Any) -> KfRig:
        settings = WeChatKfSettings(
            api_base=api_base,
            corp_id=corp_id,
            secret="kf-secret",
            token=token,
            encoding_aes_key=aes_key,
            state_url=f"sqlite:///{tmp_path / 'kf-state.db'}",
            **overrides,
        )
        rig = Rig(WeChatKfConnector(settings), rasa_url, tmp_path)
        rigs.append(rig)
        client = await rig.start()
        return KfRig(rig, client, fake, WeComSender(corp_id, token, aes_key), open_kfid)

    yield start
    for rig in rigs:
        await rig.close()
    await fake.close()


async def test_customer_message_is_pulled_and_answered_to_them(start_kf: StartKf) -> None:
    kf = await start_kf()
    user = new_customer()
    kf.says(user, PRODUCT_QUESTION)
    response = await kf.notify(token="ENCtoken1")
    assert response.status == 200 and await response.text() == "success"
    await kf.rig.drain()

    assert kf.fake.syncs == [
        {"cursor": "", "token": "ENCtoken1", "limit": 1000, "open_kfid": kf.open_kfid}
    ]
    sent = kf.fake.to(user)
    assert sent, "no reply reached kf/send_msg"
    for body in sent:
        assert body["open_kfid"] == kf.open_kfid and body["msgtype"] == "text"
        assert body["text"]["content"].strip()
        assert not body["text"]["content"].startswith("@")  # one to one: no @-mention
    token_call = kf.fake.calls_to(GETTOKEN)[0]
    assert token_call.query == {"corpid": kf.sender.corp_id, "corpsecret": "kf-secret"}


async def test_url_verification_echoes_the_decrypted_echostr(start_kf: StartKf) -> None:
    kf = await start_kf()
    query = kf.sender.verification("7001203385")
    response = await kf.client.get("/webhooks/wechat_kf", params=query)
    assert response.status == 200 and await response.text() == "7001203385"
    response = await kf.client.get("/webhooks/wechat_kf", params={**query, "echostr": "AAAA"})
    assert response.status == 401


async def test_bad_requests_are_refused_and_nothing_is_pulled(start_kf: StartKf) -> None:
    kf = await start_kf()
    kf.says(new_customer(), PRODUCT_QUESTION)
    xml = callback_xml(kf.sender.corp_id, kf.open_kfid)
    for case, (status, query, body) in bad_requests(kf.sender, xml).items():
        response = await kf.client.post("/webhooks/wechat_kf", params=query, data=body)
        assert response.status == status, case
    # Authentic, but an event this connector has nothing to do with.
    other = xml.replace("kf_msg_or_event", "kf_account_auth_change")
    query, body = kf.sender.encrypt(other)
    response = await kf.client.post("/webhooks/wechat_kf", params=query, data=body)
    assert response.status == 200
    await kf.rig.drain()
    assert kf.fake.syncs == [] and kf.fake.calls_to(SEND) == []
    assert kf.inbox_rows() == 0


async def test_agent_messages_and_voice_are_not_answered(start_kf: StartKf) -> None:
    kf = await start_kf()
    user = new_customer()
    kf.says(user, "您好,请问有什么可以帮您?", origin=AGENT)
    kf.fake.log.append({**kf.fake.log[-1], "msgid": "voice1", "origin": CUSTOMER,
                        "msgtype": "voice", "voice": {"media_id": "m"}})  # fmt: skip
    assert (await kf.notify()).status == 200
    await kf.rig.drain()
    assert kf.inbox_rows() == 0 and kf.fake.calls_to(SEND) == []
    # Read past them all the same: the next pull starts after them.
    kf.says(user, PRODUCT_QUESTION)
    await kf.notify()
    await kf.rig.drain()
    assert kf.fake.syncs[-1]["cursor"] == "c2"
    assert len(kf.fake.to(user)) >= 1


async def test_order_details_go_to_the_customer_only(
    start_kf: StartKf, orders: dict[str, Any]
) -> None:
    kf = await start_kf()
    order = orders["transit"]
    user = new_customer()
    kf.says(user, f"订单{order.order_id} 手机尾号{order.digits} 到哪了")
    await kf.notify()
    await kf.rig.drain()
    sent = kf.fake.to(user)
    assert any("武汉" in body["text"]["content"] for body in sent), sent
    assert len(kf.fake.delivered) == len(sent)  # nothing went anywhere else
    assert not any("私信发给你" in body["text"]["content"] for body in sent)


async def test_retried_callback_and_repeated_message_are_answered_once(start_kf: StartKf) -> None:
    kf = await start_kf()
    user = new_customer()
    kf.says(user, PRODUCT_QUESTION)
    query, body = kf.sender.encrypt(callback_xml(kf.sender.corp_id, kf.open_kfid))
    await kf.client.post("/webhooks/wechat_kf", params=query, data=body)
    await kf.rig.drain()
    answered = len(kf.fake.to(user))
    # WeCom posts the same callback again: the pull starts after what was already read.
    again = await kf.client.post("/webhooks/wechat_kf", params=query, data=body)
    await kf.rig.drain()
    assert again.status == 200 and kf.fake.syncs[-1]["cursor"] == "c1"
    # WeCom hands out a message it already gave (same msgid): the inbox drops it.
    kf.fake.log.append(dict(kf.fake.log[0]))
    await kf.notify()
    await kf.rig.drain()
    assert answered >= 1 and len(kf.fake.to(user)) == answered


async def test_a_restart_before_the_reply_answers_once_after_it(start_kf: StartKf) -> None:
    kf = await start_kf()
    user = new_customer()
    kf.says(user, PRODUCT_QUESTION)
    await kf.notify()
    picked_up = await kf.rig.restart()
    await kf.rig.drain()
    texts = [body["text"]["content"] for body in kf.fake.to(user)]
    assert picked_up == 1
    assert texts and len(texts) == len(set(texts))


async def test_the_cursor_survives_a_connector_restart(start_kf: StartKf) -> None:
    first = await start_kf()
    early, late = new_customer(), new_customer()
    first.says(early, PRODUCT_QUESTION)
    await first.notify()
    await first.rig.drain()
    await first.rig.close()

    second = await start_kf()  # a new process: new connector, same database
    second.says(late, PRODUCT_QUESTION)
    await second.notify()
    await second.rig.drain()
    assert [s["cursor"] for s in second.fake.syncs] == ["", "c1"]
    assert len(second.fake.to(late)) >= 1
    assert len(second.fake.to(early)) == len(first.fake.to(early))  # not pulled again


async def test_a_backlog_is_pulled_page_by_page(start_kf: StartKf) -> None:
    kf = await start_kf(sync_limit=2)
    users = [new_customer() for _ in range(3)]
    for user in users:
        kf.says(user, PRODUCT_QUESTION)
    await kf.notify()
    await kf.rig.drain()
    assert [(s["cursor"], s["limit"]) for s in kf.fake.syncs] == [("", 2), ("c2", 2)]
    assert all(kf.fake.to(user) for user in users)
    await kf.notify()  # the saved cursor is past the whole backlog
    assert kf.fake.syncs[-1]["cursor"] == "c3"


async def test_a_failed_pull_makes_wecom_retry_and_loses_nothing(start_kf: StartKf) -> None:
    kf = await start_kf()
    user = new_customer()
    kf.says(user, PRODUCT_QUESTION)
    kf.fake.fail(SYNC, 503)
    response = await kf.notify()
    assert response.status == 503
    assert kf.inbox_rows() == 0
    await kf.notify()  # WeCom's retry
    await kf.rig.drain()
    assert kf.fake.syncs[-1]["cursor"] == ""
    assert len(kf.fake.to(user)) >= 1


async def test_send_failing_with_5xx_and_429_is_delivered_once(start_kf: StartKf) -> None:
    kf = await start_kf()
    kf.fake.fail(SEND, 500)
    kf.fake.fail(SEND, 429)
    user = new_customer()
    kf.says(user, PRODUCT_QUESTION)
    await kf.notify()
    await kf.rig.drain()
    texts = [body["text"]["content"] for body in kf.fake.to(user)]
    assert texts and len(texts) == len(set(texts))
    assert len(kf.fake.calls_to(SEND)) == len(texts) + 2


async def test_an_expired_access_token_is_refreshed_and_the_send_succeeds(
    start_kf: StartKf,
) -> None:
    kf = await start_kf()
    first, second = new_customer(), new_customer()
    kf.says(first, PRODUCT_QUESTION)
    await kf.notify()
    await kf.rig.drain()
    kf.fake.expired.add("TOKEN1")  # errcode 42001 from now on for that token
    kf.says(second, PRODUCT_QUESTION)
    await kf.notify()
    await kf.rig.drain()
    sent = kf.fake.to(second)
    assert sent and all(body["access_token"] == "TOKEN2" for body in sent)
    assert len(kf.fake.calls_to(GETTOKEN)) == 2


async def test_the_cursor_moves_only_once_the_messages_are_stored(
    start_kf: StartKf, monkeypatch: pytest.MonkeyPatch
) -> None:
    kf = await start_kf()
    user = new_customer()
    kf.says(user, PRODUCT_QUESTION)

    async def inbox_down(_: Any) -> bool:
        raise RuntimeError("database is down")

    monkeypatch.setattr(kf.rig.chat, "accept", inbox_down)
    assert (await kf.notify()).status == 500  # WeCom will post the callback again
    monkeypatch.undo()
    await kf.notify()
    await kf.rig.drain()
    assert [s["cursor"] for s in kf.fake.syncs] == ["", ""]  # read again from the start
    assert len(kf.fake.to(user)) >= 1


# ---------------------------------------------------------------------- photos
async def test_a_customer_picture_is_parsed_and_fetched_by_media_id(tmp_path: Path) -> None:
    fake = FakeKf()
    settings = WeChatKfSettings(
        api_base=await fake.start(),
        corp_id=f"ww{uuid.uuid4().hex[:16]}",
        secret="kf-secret",
        token=uuid.uuid4().hex,
        encoding_aes_key=new_aes_key(),
        state_url=f"sqlite:///{tmp_path / 'kf-state.db'}",
    )
    fake.route("GET", "/cgi-bin/media/get", serve_bytes(JPEG))
    connector = WeChatKfConnector(settings)
    user, account = new_customer(), f"wk{uuid.uuid4().hex[:16]}"
    item = {"msgid": "pic1", "open_kfid": account, "external_userid": user,
            "send_time": int(time.time()), "origin": CUSTOMER,
            "msgtype": "image", "image": {"media_id": "MEDIA_KF"}}  # fmt: skip
    parsed = connector.parse(item)
    assert parsed is not None
    assert (parsed.sender_id, parsed.chat_id, parsed.text) == (user, account, "")
    assert parsed.attachments == [{"kind": "image", "ref": "MEDIA_KF"}]
    # A picture an agent sent is still nobody's question.
    assert connector.parse({**item, "origin": AGENT}) is None
    assert await connector.fetch_media(parsed.attachments[0]) == JPEG
    assert fake.calls_to("/cgi-bin/media/get")[0].query["media_id"] == "MEDIA_KF"
    await connector.close()
    await fake.close()
