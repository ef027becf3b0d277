"""Telegram: Bot API webhooks (or long polling) in, ``sendMessage`` out.

Parsing and sending use python-telegram-bot (``Update.de_json``, ``Message.parse_entities`` for
UTF-16-correct entities, ``Bot.send_message`` with its Bot API error mapping); the bot's HTTP
calls go to ``{api_base}/bot<token>/<method>``. Telegram has no request signature: a webhook is
authentic when its ``X-Telegram-Bot-Api-Secret-Token`` header equals the ``secret_token`` given
to ``setWebhook``.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import os
import warnings
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from pydantic import AliasChoices, Field, model_validator
from telegram import Bot, Message, MessageEntity, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from assistant.config import REPO_ROOT
from assistant.connectors.base import (
    Accept,
    BadPayload,
    BadSignature,
    Connector,
    ConnectorSettings,
    DeliveryFailed,
    Inbound,
)
from assistant.messages import ChatType as NeutralChatType
from assistant.messages import IncomingMessage, OutgoingReply

__all__ = ["TelegramConnector", "TelegramSettings"]

log = logging.getLogger("assistant.connectors")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram refuses longer texts (counted after HTML parsing); the mention needs some room.
MAX_CHUNK = 4000
# What a shopper's tap on "Start" (or a bare command) means to Rasa: a greeting.
_GREETING = {"zh": "你好", "en": "hello"}
# Said in the group, in place of the "sent you privately" pointer, when Telegram refused the
# private message because the shopper never opened a chat with the bot.
_START_CHAT_NOTE = {
    "zh": "这条回复涉及你的订单信息,不方便在群里发。Telegram 不允许我主动私信你:请先打开 {link} "
    "并点「开始」,然后在私聊里再问我一次~",
    "en": "That answer includes your order details, so I won't post it here, and Telegram doesn't "
    "let me message you first: please open {link}, tap Start, and ask me again there.",
}
_UPDATE_KINDS = ["message", "edited_message"]
_MENTION_KINDS = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]


class TelegramSettings(ConnectorSettings):
    """``connectors.telegram`` in ``assistant.yml``."""

    api_base: str = "https://api.telegram.org"
    # From @BotFather: "<bot id>:<secret>". The bot's user id is the part before the colon.
    # ("token" is accepted too.)
    bot_token: str = Field(
        pattern=r"^\d+:[A-Za-z0-9_-]+$", validation_alias=AliasChoices("bot_token", "token")
    )
    # The secret_token given to setWebhook; Telegram echoes it in every webhook request.
    secret_token: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,256}$")
    # The bot's @username without "@"; empty: asked once with getMe.
    bot_username: str = ""
    # webhook: Telegram posts to /webhooks/telegram; polling: we call getUpdates (no public URL).
    mode: Literal["webhook", "polling"] = "webhook"
    # Long-poll wait per getUpdates call (Telegram allows up to 50).
    poll_timeout_seconds: int = Field(default=30, ge=0, le=50)
    # Where polling keeps the last update_id handled; empty: <SIYU_DATA_DIR or .var>/...
    state_path: str = ""

    @model_validator(mode="after")
    def _secret_for_webhooks(self) -> TelegramSettings:
        if self.mode == "webhook" and not self.secret_token:
            raise ValueError(
                "secret_token is required in webhook mode (the one given to setWebhook)"
            )
        self.bot_username = self.bot_username.lstrip("@")
        # The group layer strips "@<bot_name>" from what Rasa reads: here, the bot's username.
        self.bot_name = self.bot_name or self.bot_username
        return self

    @property
    def bot_id(self) -> int:
        return int(self.bot_token.split(":", 1)[0])


class _OffsetFile:
    """The last update_id handled in polling mode, so a restart does not read updates again."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> int:
        try:
            return int(json.loads(self.path.read_text(encoding="utf-8"))["last_update_id"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def save(self, update_id: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"last_update_id": update_id}), encoding="utf-8")
        os.replace(temporary, self.path)  # atomic: a crash never leaves half a file


class TelegramConnector(Connector):
    """Telegram groups, supergroups (incl. forum topics) and private chats with one bot."""

    name = "telegram"
    supports_private = True
    settings_model = TelegramSettings
    settings: TelegramSettings

    def __init__(self, settings: ConnectorSettings) -> None:
        super().__init__(settings)
        self._client: Bot | None = None
        self._requests: tuple[HTTPXRequest, ...] = ()
        self._username = self.settings.bot_username
        default_state = Path(os.environ.get("SIYU_DATA_DIR") or REPO_ROOT / ".var")
        self._offsets = _OffsetFile(
            Path(self.settings.state_path)
            if self.settings.state_path
            else default_state / f"telegram-{self.settings.bot_id}-offset.json"
        )

    # ------------------------------------------------------------------ connection
    @property
    def long_connection(self) -> bool:
        return self.settings.mode == "polling"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "bot_id": self.settings.bot_id, "username": self._username}

    async def _bot(self) -> Bot:
        """The PTB bot, created inside the running loop (its HTTPX clients belong to it)."""
        if self._client is None:
            timeout = self.settings.timeout_seconds
            send = HTTPXRequest(
                connection_pool_size=16,
                read_timeout=timeout,
                write_timeout=timeout,
                connect_timeout=timeout,
                pool_timeout=timeout,
            )
            # getUpdates adds its long-poll wait to this read timeout itself.
            poll = HTTPXRequest(connection_pool_size=1, read_timeout=timeout)
            await asyncio.gather(send.initialize(), poll.initialize())
            self._requests = (send, poll)
            self._client = Bot(
                self.settings.bot_token,
                base_url=f"{self.settings.api_base.rstrip('/')}/bot",
                base_file_url=f"{self.settings.api_base.rstrip('/')}/file/bot",
                request=send,
                get_updates_request=poll,
            )
        return self._client

    async def _username_known(self) -> str:
        """The bot's username (for @-mentions and t.me links); asks getMe once if not set."""
        if not self._username:
            try:
                me = await (await self._bot()).get_me()
            except TelegramError as error:
                log.warning(
                    "telegram getMe failed; @-mentions by username not recognised yet",
                    extra={"platform": self.name, "error": self._clean(str(error))},
                )
                return self.settings.bot_name.lstrip("@")
            self._username = me.username or ""
            self.settings.bot_name = self.settings.bot_name or self._username
            log.info(
                "telegram bot identified", extra={"platform": self.name, "username": me.username}
            )
        return self._username

    async def close(self) -> None:
        for request in self._requests:
            await request.shutdown()
        self._requests = ()
        self._client = None

    # ------------------------------------------------------------------ receiving
    async def receive(self, request: web.Request) -> Inbound:
        """One webhook update: the secret header, then the JSON body, then one message or none."""
        given = request.headers.get(SECRET_HEADER, "")
        expected = self.settings.secret_token
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise BadSignature(f"{SECRET_HEADER} missing or wrong")
        try:
            data = json.loads(await request.read())
        except ValueError as error:
            raise BadPayload(f"body is not JSON: {error}") from error
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise BadPayload("body is not a Telegram Update (no update_id)")
        try:
            update = Update.de_json(data, await self._bot())
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            raise BadPayload(f"malformed update: {type(error).__name__} {error}") from error
        message = await self._parse(update)
        return Inbound(messages=[message] if message else [])

    async def run(self, accept: Accept) -> None:
        """Polling mode: getUpdates in a loop, each update handed to ``accept`` (which stores
        it) before its update_id is confirmed to Telegram and written to the offset file."""
        bot = await self._bot()
        # getUpdates answers 409 while a webhook is set; polling mode means we do not want one.
        await bot.delete_webhook(drop_pending_updates=False)
        last = await asyncio.to_thread(self._offsets.load)
        log.info(
            "telegram polling started",
            extra={"platform": self.name, "offset": last + 1 if last else None},
        )
        while True:
            updates = await bot.get_updates(
                offset=last + 1 if last else None,
                timeout=timedelta(seconds=self.settings.poll_timeout_seconds),
                allowed_updates=_UPDATE_KINDS,
            )
            for update in updates:
                message = await self._parse(update)
                if message is not None:
                    await accept(message)
                last = max(last, update.update_id)
            if updates:
                await asyncio.to_thread(self._offsets.save, last)

    async def _parse(self, update: Update) -> IncomingMessage | None:
        """A shopper's text or photo message, or None for anything else (answered 200 and
        dropped)."""
        msg = update.message or update.edited_message
        attachments = _images(msg) if msg is not None else []
        if (
            msg is None
            or (not isinstance(msg.text, str) and not attachments)
            or not msg.from_user
            or msg.from_user.is_bot
        ):
            self._ignored(update, "not a text message from a person")
            return None
        chat_type: NeutralChatType
        if msg.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            chat_type = "group"
        elif msg.chat.type == ChatType.PRIVATE:
            chat_type = "private"
        else:
            self._ignored(update, f"chat type {msg.chat.type}")
            return None
        username = (await self._username_known()).lower()
        if attachments and msg.text is None:
            # A photo's words are its caption, with the caption's own mention entities.
            text, command_for_us = msg.caption or "", False
            entities = msg.parse_caption_entities(
                [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
            )
        else:
            text, command_for_us = self._text(msg, username)
            entities = msg.parse_entities(_MENTION_KINDS)
        if text is None:
            self._ignored(update, "a command for another bot")
            return None
        user = msg.from_user
        return IncomingMessage(
            platform=self.name,
            chat_id=str(msg.chat.id),
            chat_type=chat_type,
            sender_id=str(user.id),
            sender_name=user.full_name,
            text=text,
            # Telegram numbers messages per chat; an edit keeps the id, so an edit that adds the
            # @-mention is answered but an edit of an answered question is a duplicate.
            message_id=f"{msg.chat.id}:{msg.message_id}",
            mentions_assistant=command_for_us or self._mentions(entities, username),
            replies_to_assistant=self._replies_to_bot(msg),
            received_at=msg.date,
            context={
                "chat_id": msg.chat.id,
                "message_id": msg.message_id,
                "thread_id": msg.message_thread_id if msg.is_topic_message else None,
            },
            attachments=attachments,
        )

    def _mentions(self, entities: dict[MessageEntity, str], username: str) -> bool:
        """``@username`` (any case) or a text_mention of the bot's user id."""
        for entity, value in entities.items():
            if entity.type == MessageEntity.TEXT_MENTION:
                if entity.user is not None and entity.user.id == self.settings.bot_id:
                    return True
            elif username and value.lstrip("@").lower() == username:
                return True
        return False

    def _replies_to_bot(self, msg: Message) -> bool:
        """A reply to one of the bot's messages (in forum topics every message "replies" to the
        topic's first message, which is no reply at all)."""
        quoted = msg.reply_to_message
        if quoted is None or quoted.from_user is None or quoted.forum_topic_created is not None:
            return False
        return quoted.from_user.id == self.settings.bot_id

    @staticmethod
    def _text(msg: Message, username: str) -> tuple[str | None, bool]:
        """The text for Rasa and whether it opened with a command addressed to this bot.

        A leading ``/command`` or ``/command@ourbot`` is Telegram syntax, not the shopper's
        words (Rasa would read a bare ``/start`` as an intent), so it is cut; a command alone
        (``/start`` with its deep-link payload, ``/help``) becomes a greeting. Text is otherwise
        passed on whole: the group layer strips @-mentions. None: a command for another bot.
        """
        text = msg.text or ""
        for entity, value in msg.parse_entities([MessageEntity.BOT_COMMAND]).items():
            if entity.offset != 0:
                continue
            command, _, target = value.partition("@")
            if target and target.lower() != username:
                return None, False
            rest = text[len(value) :].strip()
            if command.lower() == "/start" or not rest:
                language = (msg.from_user.language_code or "zh") if msg.from_user else "zh"
                rest = _GREETING["en" if not language.startswith("zh") else "zh"]
            return rest, bool(target)
        return text, False

    def _ignored(self, update: Update, why: str) -> None:
        log.debug(
            "telegram update ignored",
            extra={"platform": self.name, "update_id": update.update_id, "why": why},
        )

    async def fetch_media(self, attachment: Mapping[str, Any]) -> bytes:
        """A photo's bytes: ``getFile`` for its path, then the file download."""
        bot = await self._bot()
        try:
            file = await bot.get_file(str(attachment["ref"]))
            return bytes(await file.download_as_bytearray())
        except TelegramError as error:
            raise self._failure(error) from error

    # ------------------------------------------------------------------ sending
    async def send(self, reply: OutgoingReply) -> None:
        """sendMessage: group replies quote the shopper's message and @-mention them (an HTML
        ``tg://user`` link); private replies go to the shopper's user id."""
        context = reply.context
        if reply.private:
            await self._send_private(reply)
            return
        chat_id: int | str = context.get("chat_id") or reply.chat_id
        if reply.chat_type == "private":
            await self._send_chunks(chat_id, reply.text, html_prefix="", reply=reply)
            return
        prefix = _mention_html(reply) if reply.mention else ""
        await self._send_chunks(chat_id, reply.text, html_prefix=prefix, reply=reply)

    async def _send_private(self, reply: OutgoingReply) -> None:
        try:
            await self._send_chunks(int(reply.to_user), reply.text, html_prefix="", reply=reply)
        except DeliveryFailed as failed:
            if failed.retryable or reply.chat_type != "group":
                raise
            # A bot may only message users who started it; the group is then told how
            # (private_failed_note) instead of "sent you privately".
            raise DeliveryFailed(
                "shopper has not started a private chat with the bot (or blocked it): "
                + failed.reason,
                retryable=False,
            ) from failed

    async def _send_chunks(
        self,
        chat_id: int | str,
        body: str,
        *,
        html_prefix: str,
        reply: OutgoingReply,
    ) -> None:
        """One sendMessage per 4000 characters; the first quotes and mentions."""
        bot = await self._bot()
        group = reply.chat_type == "group" and not reply.private
        quoted = reply.context.get("message_id") if group else None
        thread = reply.context.get("thread_id") if group else None
        chunks = _chunks(body)
        for index, chunk in enumerate(chunks):
            first = index == 0
            if group:
                content = html.escape(chunk, quote=False)
                options: dict[str, Any] = {"parse_mode": "HTML"}
                if first and html_prefix:
                    content = f"{html_prefix} {content}"
            else:
                content, options = chunk, {}
            if first and quoted:
                options["reply_parameters"] = ReplyParameters(
                    message_id=int(quoted), allow_sending_without_reply=True
                )
            sent = await self._send_one(bot, chat_id, content, thread, options)
            log.info(
                "telegram message sent",
                extra={
                    "platform": self.name,
                    "chat_id": chat_id,
                    "message_id": sent.message_id,
                    "private": reply.private,
                },
            )

    async def _send_one(
        self, bot: Bot, chat_id: int | str, content: str, thread: int | None, options: dict
    ) -> Message:
        """One sendMessage; a group that became a supergroup is followed to its new id once."""
        try:
            return await bot.send_message(
                chat_id=chat_id, text=content, message_thread_id=thread, **options
            )
        except ChatMigrated as moved:
            log.info(
                "telegram group migrated",
                extra={"platform": self.name, "chat_id": chat_id, "new_chat_id": moved.new_chat_id},
            )
            try:
                return await bot.send_message(
                    chat_id=moved.new_chat_id, text=content, message_thread_id=thread, **options
                )
            except TelegramError as error:
                raise self._failure(error) from error
        except TelegramError as error:
            raise self._failure(error) from error

    async def private_failed_note(self, reply: OutgoingReply, language: str) -> str:
        """Open a private chat with the bot (a t.me deep link Telegram shows as a link) and
        ask again: a bot may not message a shopper who never started it."""
        username = await self._username_known()
        if username:
            link = f"https://t.me/{username}?start=private"
        else:
            link = "我的私聊" if language == "zh" else "a private chat with me"
        return _START_CHAT_NOTE["zh" if language == "zh" else "en"].format(link=link)

    def _failure(self, error: TelegramError) -> DeliveryFailed:
        """PTB's Bot API errors as retryable or final failures (never with the token)."""
        reason = self._clean(f"{type(error).__name__}: {error.message}")
        if isinstance(error, RetryAfter):
            return DeliveryFailed(reason, retryable=True, retry_after=_retry_seconds(error))
        if isinstance(error, (BadRequest, Forbidden, InvalidToken)):
            # Wrong chat, bot removed from the group, shopper blocked it, token revoked: final.
            return DeliveryFailed(reason, retryable=False)
        if isinstance(error, NetworkError):  # 5xx, timeouts, connection errors
            return DeliveryFailed(reason, retryable=True)
        return DeliveryFailed(reason, retryable=False)

    def _clean(self, text: str) -> str:
        return text.replace(self.settings.bot_token, "<token>")


def _images(msg: Message) -> list[dict[str, Any]]:
    """A photo (its largest size: Telegram lists sizes smallest first) or an image sent as a
    file, as attachments whose ``ref`` is the Bot API ``file_id``."""
    if msg.photo:
        largest = msg.photo[-1]
        return [{"kind": "image", "ref": largest.file_id, "size": largest.file_size}]
    document = msg.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        return [{"kind": "image", "ref": document.file_id, "size": document.file_size}]
    return []


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about the int form; either is fine here
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _mention_html(reply: OutgoingReply) -> str:
    """An @-mention by user id: works for shoppers without a public @username too."""
    name = html.escape(reply.to_user_name or reply.to_user, quote=False)
    return f'<a href="tg://user?id={int(reply.to_user)}">{name}</a>'


def _chunks(body: str, size: int = MAX_CHUNK) -> list[str]:
    """Split at line ends where possible, so a long product list stays readable."""
    chunks: list[str] = []
    while len(body) > size:
        cut = body.rfind("\n", 0, size)
        cut = cut if cut > size // 2 else size
        chunks.append(body[:cut])
        body = body[cut:].lstrip("\n")
    chunks.append(body)
    return chunks
