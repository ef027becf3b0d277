"""Telegram connector against a fake Bot API, the real group layer and the real Rasa.

Updates are built with python-telegram-bot's own types (``Update(...).to_dict()``), i.e. the
JSON Telegram posts; replies are read back from the fake the way the Bot API receives them
(PTB posts form fields, objects JSON-encoded).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from sqlalchemy import func, select
from telegram import Chat, ForumTopicCreated, Message, MessageEntity, Update, User

from assistant.connectors.gateway import webhook_routes
from assistant.connectors.telegram import SECRET_HEADER, TelegramConnector, TelegramSettings
from assistant.groupchat.inbox import inbox_table
from assistant.messages import IncomingMessage
from assistant.texts import text as shared_text
from tests.aftersales.images import JPEG
from tests.connectors.harness import Call, Capture, FakePlatform, Rig, serve_bytes

BOT_ID = 7012345678
TOKEN = f"{BOT_ID}:AAHfakeTokenForTests_0123456789abcdef"
SECRET = "s3cret-Token_for-webhooks"
USERNAME = "LanyuHelperBot"
PREFIX = f"/bot{TOKEN}"
SEND = f"{PREFIX}/sendMessage"
WEBHOOK = "/webhooks/telegram"


# ---------------------------------------------------------------------------- building updates
def _utf16(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


def _ids() -> tuple[int, int]:
    """A fresh supergroup id (negative, -100...) and user id, so workers never share a chat."""
    n = uuid.uuid4().int
    return -(10**12 + n % 10**11), 10**9 + (n >> 64) % 10**9


def _user(user_id: int, first: str = "小林", last: str | None = None) -> User:
    return User(id=user_id, first_name=first, last_name=last, is_bot=False, language_code="zh-hans")


def _bot_user(user_id: int = BOT_ID, username: str = USERNAME) -> User:
    return User(id=user_id, first_name="澜屿小助手", is_bot=True, username=username)


def _chat(chat_id: int, kind: str = Chat.SUPERGROUP) -> Chat:
    if kind == Chat.PRIVATE:
        return Chat(id=chat_id, type=kind, first_name="小林")
    return Chat(id=chat_id, type=kind, title="澜屿会员群", is_forum=kind == Chat.SUPERGROUP)


def update(
    chat_id: int,
    user: User,
    text: str,
    entities: list[MessageEntity] | None = None,
    *,
    message_id: int = 41,
    update_id: int | None = None,
    kind: str = Chat.SUPERGROUP,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON of one Update carrying a text message, as Telegram posts it."""
    message = Message(
        message_id=message_id,
        date=datetime.now(timezone.utc),
        chat=_chat(chat_id, kind),
        from_user=user,
        text=text,
        entities=entities or [],
        **extra,
    )
    return Update(update_id or uuid.uuid4().int % 10**9, message=message).to_dict()


def mention(body: str, name: str = USERNAME) -> tuple[str, list[MessageEntity]]:
    """``@name body`` with the mention entity the Telegram app adds."""
    handle = f"@{name}"
    return f"{handle} {body}", [MessageEntity(MessageEntity.MENTION, 0, _utf16(handle))]


def form(call: Call) -> dict[str, Any]:
    """A sendMessage call's fields (PTB posts form data; objects are JSON-encoded)."""
    fields = {k: v[0] for k, v in parse_qs(call.body.decode(), keep_blank_values=True).items()}
    if "reply_parameters" in fields:
        fields["reply_parameters"] = json.loads(fields["reply_parameters"])
    return fields


def sent_to(fake: FakePlatform, chat_id: int) -> list[dict[str, Any]]:
    return [f for f in map(form, fake.calls_to(SEND)) if f.get("chat_id") == str(chat_id)]


# ---------------------------------------------------------------------------- fake Bot API
def _api_error(status: int, description: str, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


class BotAPI:
    """The fake's Bot API methods: getMe, sendMessage (refusing chats in ``refuse``),
    deleteWebhook and getUpdates (serving ``pending`` above the confirmed offset)."""

    def __init__(self, fake: FakePlatform) -> None:
        self.fake = fake
        self.refuse: dict[str, tuple[int, str]] = {}
        self.pending: list[dict[str, Any]] = []
        self.sent = 0
        fake.route("POST", f"{PREFIX}/getMe", {"ok": True, "result": _bot_user().to_dict()})
        fake.route("POST", f"{PREFIX}/deleteWebhook", {"ok": True, "result": True})
        fake.route("POST", SEND, self.send_message)
        fake.route("POST", f"{PREFIX}/getUpdates", self.get_updates)

    async def send_message(self, request: web.Request) -> web.Response:
        fields = dict(await request.post())
        chat_id = str(fields["chat_id"])
        if chat_id in self.refuse:
            status, description = self.refuse[chat_id]
            return web.json_response(_api_error(status, description), status=status)
        self.sent += 1
        result = {
            "message_id": 9000 + self.sent,
            "date": int(datetime.now(timezone.utc).timestamp()),
            "chat": {"id": int(chat_id), "type": "supergroup", "title": "g"},
            "from": _bot_user().to_dict(),
            "text": str(fields["text"]),
        }
        return web.json_response({"ok": True, "result": result})

    async def get_updates(self, request: web.Request) -> web.Response:
        fields = dict(await request.post())
        offset = int(str(fields.get("offset") or 0))
        # Telegram forgets every update below the offset it was given: they are confirmed.
        self.pending = [u for u in self.pending if u["update_id"] >= offset]
        if not self.pending:
            await asyncio.sleep(0.1)  # a (short) long poll
        return web.json_response({"ok": True, "result": self.pending[:100]})


@pytest.fixture
async def fake() -> AsyncIterator[FakePlatform]:
    platform = FakePlatform()
    await platform.start()
    yield platform
    await platform.close()


@pytest.fixture
def api(fake: FakePlatform) -> BotAPI:
    return BotAPI(fake)


def settings(fake: FakePlatform, **values: Any) -> TelegramSettings:
    assert fake.server is not None
    base = str(fake.server.make_url("")).rstrip("/")
    defaults: dict[str, Any] = {
        "api_base": base,
        "bot_token": TOKEN,
        "secret_token": SECRET,
        "bot_username": USERNAME,
        "timeout_seconds": 5,
    }
    return TelegramSettings.model_validate({**defaults, **values})


@pytest.fixture
async def rig(fake: FakePlatform, api: BotAPI, rasa_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    harness = Rig(TelegramConnector(settings(fake)), rasa_url, tmp_path)
    yield harness
    await harness.close()


async def post(client: Any, body: Any, secret: str | None = SECRET) -> Any:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return await client.post(WEBHOOK, data=data, headers=headers)


def inbox_count(harness: Rig) -> int:
    with harness.chat.inbox.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(inbox_table)).scalar_one())


# ---------------------------------------------------------------------------- (1) a group question
async def test_group_question_is_answered_in_its_topic_quoting_and_mentioning_the_shopper(
    rig: Rig, fake: FakePlatform
) -> None:
    client = await rig.start()
    group, shopper = _ids()
    body, entities = mention("油皮用哪款洗面奶?")
    sent = update(
        group,
        _user(shopper, "Amy <VIP>", "& Co"),
        body,
        entities=entities,
        message_id=513,
        message_thread_id=77,
        is_topic_message=True,
    )
    response = await post(client, sent)
    assert response.status == 200
    await rig.drain()

    [answer] = sent_to(fake, group)
    assert answer["parse_mode"] == "HTML"
    assert answer["message_thread_id"] == "77"  # the forum topic it was asked in
    assert answer["reply_parameters"] == {"message_id": 513, "allow_sending_without_reply": True}
    # A mention by user id (works without a public @username), the name HTML-escaped.
    assert answer["text"].startswith(
        f'<a href="tg://user?id={shopper}">Amy &lt;VIP&gt; &amp; Co</a> '
    )
    assert "洁面" in answer["text"]


async def test_addressing_forms_and_chat_types_are_parsed_for_the_group_layer(
    fake: FakePlatform, api: BotAPI, aiohttp_client: Any
) -> None:
    # No username configured: the connector asks getMe once.
    connector = TelegramConnector(settings(fake, bot_username=""))
    accepted: list[IncomingMessage] = []

    async def accept(message: IncomingMessage) -> bool:
        accepted.append(message)
        return True

    app = web.Application()
    app.add_routes(webhook_routes({"telegram": connector}, SimpleNamespace(accept=accept)))  # type: ignore[arg-type]
    client = await aiohttp_client(app)
    group, shopper = _ids()
    user = _user(shopper)
    lower = "@lanyuhelperbot 有什么推荐"
    tail = "你好 澜屿小助手 推荐个面霜"
    cases = [
        update(group, user, lower, entities=[MessageEntity("mention", 0, 15)], message_id=1),
        update(
            group,
            user,
            tail,
            entities=[MessageEntity("text_mention", 3, 5, user=_bot_user())],
            message_id=2,
        ),
        update(
            group,
            user,
            "/ask@LanyuHelperBot 油皮用哪款?",
            entities=[MessageEntity("bot_command", 0, 19)],
            message_id=3,
        ),
        update(group, user, "那敏感肌呢", message_id=4, reply_to_message=_said_by_bot(group, 3001)),
        update(
            group,
            user,
            "大家好",
            message_id=5,
            message_thread_id=1,
            is_topic_message=True,
            reply_to_message=_topic_opened_by_bot(group),
        ),
        update(group, user, *mention("hi", name="OtherBot"), message_id=6, kind=Chat.GROUP),
        update(
            group,
            user,
            "/ask@OtherBot hi",
            entities=[MessageEntity("bot_command", 0, 13)],
            message_id=7,
        ),
        update(
            shopper,
            user,
            "/start private",
            entities=[MessageEntity("bot_command", 0, 6)],
            message_id=8,
            kind=Chat.PRIVATE,
        ),
    ]
    for case in cases:
        assert (await post(client, case)).status == 200

    by_id = {m.message_id.split(":")[1]: m for m in accepted}
    assert set(by_id) == {"1", "2", "3", "4", "5", "6", "8"}  # 7 was for another bot
    assert by_id["1"].mentions_assistant  # @username in any case
    assert by_id["1"].text == lower  # mentions are left for the group layer to strip
    assert by_id["2"].mentions_assistant and by_id["2"].text == tail  # text_mention by bot id
    assert by_id["3"].mentions_assistant and by_id["3"].text == "油皮用哪款?"
    assert by_id["4"].replies_to_assistant and not by_id["4"].mentions_assistant
    assert not by_id["5"].replies_to_assistant  # forum topic root is not a reply
    assert not by_id["6"].mentions_assistant  # another bot's username
    assert by_id["6"].chat_type == "group"  # a basic group, like a supergroup
    private = by_id["8"]
    assert (private.chat_type, private.chat_id, private.text) == ("private", str(shopper), "你好")
    first = by_id["1"]
    assert (first.chat_id, first.sender_id, first.sender_name) == (str(group), str(shopper), "小林")
    assert first.message_id == f"{group}:1"  # Telegram message ids are per chat
    assert len(fake.calls_to(f"{PREFIX}/getMe")) == 1
    await connector.close()


def _said_by_bot(group: int, message_id: int) -> Message:
    return Message(
        message_id=message_id,
        date=datetime.now(timezone.utc),
        chat=_chat(group),
        from_user=_bot_user(),
        text="为你找到这几款",
    )


def _topic_opened_by_bot(group: int) -> Message:
    return Message(
        message_id=1,
        date=datetime.now(timezone.utc),
        chat=_chat(group),
        from_user=_bot_user(),
        forum_topic_created=ForumTopicCreated(name="新品", icon_color=0x6FB9F0),
    )


# ---------------------------------------------------------------------------- (2) rejected requests
async def test_forged_malformed_and_foreign_updates_never_reach_rasa(
    rig: Rig, fake: FakePlatform
) -> None:
    client = await rig.start()
    group, shopper = _ids()
    good = update(group, _user(shopper), *mention("油皮用哪款洗面奶?"))
    private_from_bot = update(
        shopper, _bot_user(shopper + 1, "SpamBot"), "hi", kind=Chat.PRIVATE, message_id=9
    )
    photo = update(group, _user(shopper), "x", message_id=10)
    photo["message"].pop("text")
    photo["message"]["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    callback = {
        "update_id": 77,
        "callback_query": {
            "id": "1",
            "from": _user(shopper).to_dict(),
            "chat_instance": "c",
            "data": "x",
        },
    }
    channel = {
        "update_id": 78,
        "channel_post": good["message"] | {"chat": {"id": -1, "type": "channel"}},
    }
    expected = [
        (await post(client, good, secret="wrong-secret"), 401),
        (await post(client, good, secret=None), 401),
        (await post(client, b'{"update_id": 1, "message": {'), 400),
        (await post(client, [good]), 400),
        (await post(client, {"message": good["message"]}), 400),  # no update_id
        (await post(client, {"update_id": 79, "message": "hi"}), 400),
        (await post(client, callback), 200),  # answered so Telegram stops retrying
        (await post(client, channel), 200),
        (await post(client, photo), 200),
        (await post(client, private_from_bot), 200),
    ]
    assert [r.status for r, _ in expected] == [status for _, status in expected]
    await rig.drain()
    assert inbox_count(rig) == 0
    assert fake.calls_to(SEND) == []


async def test_webhook_mode_requires_a_secret_token() -> None:
    with pytest.raises(ValueError, match="secret_token"):
        TelegramSettings.model_validate({"bot_token": TOKEN})
    # Polling needs none (nothing is posted to us).
    assert TelegramSettings.model_validate({"token": TOKEN, "mode": "polling"}).bot_id == BOT_ID
    with pytest.raises(ValueError, match="bot_token"):
        TelegramSettings.model_validate({"bot_token": "not-a-token", "secret_token": SECRET})


# ---------------------------------------------------------------------------- (4) private routing
async def test_order_details_go_to_the_shopper_privately_and_the_group_gets_a_pointer(
    rig: Rig, fake: FakePlatform, orders: dict[str, Any]
) -> None:
    client = await rig.start()
    group, shopper = _ids()
    order = orders["transit"]
    body, entities = mention(f"订单{order.order_id} 手机尾号{order.digits} 到哪了")
    assert (
        await post(client, update(group, _user(shopper), body, entities=entities))
    ).status == 200
    await rig.drain()

    [private] = sent_to(fake, shopper)
    assert "武汉" in private["text"]
    assert "reply_parameters" not in private and "parse_mode" not in private
    [pointer] = sent_to(fake, group)
    assert "武汉" not in pointer["text"] and order.order_id not in pointer["text"]
    assert pointer["text"].startswith(f'<a href="tg://user?id={shopper}">')
    assert shared_text("private_pointer", "zh") in pointer["text"]


async def test_shopper_who_never_started_the_bot_is_asked_to_open_a_private_chat(
    rig: Rig, fake: FakePlatform, api: BotAPI, orders: dict[str, Any]
) -> None:
    client = await rig.start()
    group, shopper = _ids()
    api.refuse[str(shopper)] = (403, "Forbidden: bot can't initiate conversation with a user")
    order = orders["transit"]
    body, entities = mention(f"订单{order.order_id} 手机尾号{order.digits} 到哪了")
    await post(client, update(group, _user(shopper), body, entities=entities))
    await rig.drain()

    # Tried once: the refusal is final (no retries), and recorded for staff to follow up.
    assert len(sent_to(fake, shopper)) == 1 and api.sent == 1
    [record] = rig.chat.delivery.undelivered("telegram")  # type: ignore[union-attr]
    assert record["private"] and record["to_user"] == str(shopper) and record["attempts"] == 1
    assert "not started a private chat" in record["error"]
    [note] = sent_to(fake, group)
    assert f"https://t.me/{USERNAME}?start=private" in note["text"]
    assert shared_text("private_pointer", "zh") not in note["text"]  # no false "sent to you"
    assert "武汉" not in note["text"]


# ---------------------------------------------------------------------------- (5) (6) once only
async def test_a_retried_update_is_answered_once(rig: Rig, fake: FakePlatform) -> None:
    client = await rig.start()
    group, shopper = _ids()
    # No space after the mention: the username (bot_name by default) is still cut off.
    body = f"@{USERNAME}油皮用哪款洗面奶?"
    entities = [MessageEntity(MessageEntity.MENTION, 0, len(USERNAME) + 1)]
    sent = update(group, _user(shopper), body, entities)
    assert (await post(client, sent)).status == 200
    assert (await post(client, sent)).status == 200  # Telegram's retry: same update, same id
    await rig.drain()
    [answer] = sent_to(fake, group)
    assert "洁面" in answer["text"]


async def test_a_restart_between_receipt_and_reply_answers_once(
    rig: Rig, fake: FakePlatform
) -> None:
    client = await rig.start()
    group, shopper = _ids()
    sent = update(group, _user(shopper), *mention("油皮用哪款洗面奶?"))
    assert (await post(client, sent)).status == 200
    assert await rig.restart() >= 1
    await rig.drain()
    assert (await post(client, sent)).status == 200  # and a late retry changes nothing
    await rig.drain()
    assert len(sent_to(fake, group)) == 1


# ---------------------------------------------------------------------------- (7) send failures
async def test_send_retried_after_5xx_and_flood_control_is_delivered_once(
    rig: Rig, fake: FakePlatform
) -> None:
    client = await rig.start()
    group, shopper = _ids()
    fake.fail(SEND, 502, 1, _api_error(502, "Bad Gateway"))
    fake.fail(SEND, 429, 1, _api_error(429, "Too Many Requests: retry after 1", retry_after=1))
    await post(client, update(group, _user(shopper), *mention("油皮用哪款洗面奶?")))
    await rig.drain()
    assert len(fake.calls_to(SEND)) == 3
    assert len(sent_to(fake, group)) == 3  # two refused, the third delivered
    assert rig.chat.delivery.undelivered("telegram") == []  # type: ignore[union-attr]


async def test_revoked_token_is_final_and_a_migrated_group_is_followed(
    rig: Rig, fake: FakePlatform
) -> None:
    """Telegram has no expiring access token: the bot token is fixed, and a 401 means it was
    revoked in @BotFather — not retried, recorded. A group upgraded to a supergroup answers
    400 with its new id: the reply is sent there."""
    client = await rig.start()
    group, shopper = _ids()
    fake.fail(SEND, 401, 1, _api_error(401, "Unauthorized"))
    await post(client, update(group, _user(shopper), *mention("油皮用哪款洗面奶?"), message_id=1))
    await rig.drain()
    [record] = rig.chat.delivery.undelivered("telegram")  # type: ignore[union-attr]
    assert record["attempts"] == 1 and TOKEN not in record["error"]

    new_group = group - 1
    migrated = _api_error(400, "Bad Request: group chat was upgraded to a supergroup chat")
    migrated["parameters"] = {"migrate_to_chat_id": new_group}
    fake.fail(SEND, 400, 1, migrated)
    await post(client, update(group, _user(shopper), *mention("油皮用哪款洗面奶?"), message_id=2))
    await rig.drain()
    assert len(sent_to(fake, new_group)) == 1


# ---------------------------------------------------------------------------- polling
async def test_polling_answers_updates_and_a_restart_does_not_read_them_again(
    fake: FakePlatform, api: BotAPI, rasa_url: str, tmp_path: Path
) -> None:
    state = tmp_path / "telegram-offset.json"
    polling = settings(fake, mode="polling", secret_token="", poll_timeout_seconds=1)
    polling = polling.model_copy(update={"state_path": str(state)})
    connector = TelegramConnector(polling)
    assert connector.long_connection and connector.describe()["mode"] == "long connection"
    harness = Rig(connector, rasa_url, tmp_path)
    group, shopper = _ids()
    api.pending = [
        update(group, _user(shopper), "大家早", message_id=1, update_id=500),  # not addressed
        update(group, _user(shopper), *mention("油皮用哪款洗面奶?"), message_id=2, update_id=501),
    ]
    task = asyncio.create_task(connector.run(lambda m: harness.chat.accept(m)))
    try:
        await fake.wait_for(SEND, 1, timeout=60)
        for _ in range(100):  # the offset is written once the batch is stored
            if state.exists():
                break
            await asyncio.sleep(0.05)
        assert json.loads(state.read_text())["last_update_id"] == 501
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await harness.drain()
        await harness.close()
    assert len(fake.calls_to(f"{PREFIX}/deleteWebhook")) == 1  # getUpdates needs no webhook
    [answer] = sent_to(fake, group)
    assert answer["reply_parameters"]["message_id"] == 2

    # A new process with the same state file asks for what comes after 501 only.
    calls_before = len(fake.calls_to(f"{PREFIX}/getUpdates"))
    again = TelegramConnector(polling)
    accepted: list[IncomingMessage] = []

    async def accept(message: IncomingMessage) -> bool:
        accepted.append(message)
        return True

    task = asyncio.create_task(again.run(accept))
    try:
        calls = await fake.wait_for(f"{PREFIX}/getUpdates", calls_before + 1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await again.close()
    assert form(calls[calls_before])["offset"] == "502"
    assert accepted == []


# ---------------------------------------------------------------------------- photos
async def test_a_photo_is_parsed_at_its_largest_size_and_fetched_through_the_bot_api(
    fake: FakePlatform, api: BotAPI
) -> None:
    connector = TelegramConnector(settings(fake))
    capture = Capture(connector)
    client = await capture.start()
    group, shopper = _ids()
    caption, entities = mention("盒子压坏了")
    body = update(group, _user(shopper), "x", message_id=12)
    message = body["message"]
    message.pop("text")
    message.pop("entities", None)
    message["photo"] = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "big", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 23},
    ]
    message["caption"] = caption
    message["caption_entities"] = [e.to_dict() for e in entities]
    assert (await post(client, body)).status == 200

    (parsed,) = capture.accepted
    assert parsed.attachments == [{"kind": "image", "ref": "big", "size": 23}]
    assert parsed.mentions_assistant and parsed.text == caption

    fake.route(
        "POST",
        f"{PREFIX}/getFile",
        {"ok": True, "result": {"file_id": "big", "file_unique_id": "b", "file_path": "p/7.jpg"}},
    )
    fake.route("GET", f"/file/bot{TOKEN}/p/7.jpg", serve_bytes(JPEG))
    assert await connector.fetch_media(parsed.attachments[0]) == JPEG
    assert form(fake.calls_to(f"{PREFIX}/getFile")[0])["file_id"] == "big"
    await capture.close()


async def test_an_image_sent_as_a_file_is_a_photo_but_other_files_are_not(
    fake: FakePlatform, api: BotAPI
) -> None:
    connector = TelegramConnector(settings(fake))
    capture = Capture(connector)
    client = await capture.start()
    shopper = _ids()[1]
    for n, mime in enumerate(("image/png", "application/pdf")):
        body = update(shopper, _user(shopper), "x", message_id=20 + n, kind=Chat.PRIVATE)
        body["message"].pop("text")
        body["message"]["document"] = {
            "file_id": f"doc{n}",
            "file_unique_id": "d",
            "mime_type": mime,
        }
        assert (await post(client, body)).status == 200
    (parsed,) = capture.accepted
    assert parsed.attachments[0]["ref"] == "doc0" and parsed.text == ""
    await capture.close()
