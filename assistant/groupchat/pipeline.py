"""The one path of a shopper message: addressed? → stored once → Rasa → replies routed."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from assistant.groupchat.addressing import is_addressed, strip_mentions
from assistant.groupchat.inbox import MessageInbox
from assistant.language import detect_language
from assistant.messages import IncomingMessage, OutgoingReply
from assistant.rasa_client import RasaClient, RasaUnavailable
from assistant.texts import text

logger = logging.getLogger("assistant.chat")


@dataclass(frozen=True)
class ChatRules:
    """Group settings the pipeline applies to every platform alike."""

    assistant_names: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    max_message_chars: int = 2000


class GroupChat:
    """Turns one incoming message into the replies to send, the same for every platform."""

    def __init__(self, rasa: RasaClient, inbox: MessageInbox, rules: ChatRules) -> None:
        self.rasa = rasa
        self.inbox = inbox
        self.rules = rules

    async def handle(self, message: IncomingMessage) -> list[OutgoingReply]:
        """Answer ``message`` if it is addressed to the assistant and not a platform retry."""
        if not is_addressed(message, list(self.rules.keywords)):
            return []
        # The inbox write is the dedup check and the no-loss guarantee at once.
        if not await asyncio.to_thread(self.inbox.record, message):
            logger.info(
                "duplicate message ignored",
                extra={"message_id": message.message_id, "platform": message.platform},
            )
            return []
        started = time.perf_counter()
        cleaned = strip_mentions(message.text, list(self.rules.assistant_names))
        language = detect_language(cleaned)
        notes: list[str] = []
        if not cleaned:
            replies = [self._reply(message, text("empty_message", language))]
            await asyncio.to_thread(self.inbox.mark_answered, message, [r.text for r in replies])
            return replies
        if len(cleaned) > self.rules.max_message_chars:
            cleaned = cleaned[: self.rules.max_message_chars]
            notes.append(text("too_long", language, limit=self.rules.max_message_chars))
        try:
            bot_messages = await self.rasa.send(
                message.conversation_id, cleaned, self._metadata(message)
            )
        except RasaUnavailable as error:
            logger.error(
                "rasa unavailable; message kept in inbox",
                extra={"conversation_id": message.conversation_id, "error": str(error)},
            )
            await asyncio.to_thread(self.inbox.mark_failed, message, str(error))
            return [self._reply(message, text("rasa_down", language))]
        replies = [self._reply(message, note) for note in notes]
        replies += self._route(message, bot_messages, language)
        await asyncio.to_thread(self.inbox.mark_answered, message, [r.text for r in replies])
        logger.info(
            "answered",
            extra={
                "conversation_id": message.conversation_id,
                "replies": len(replies),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return replies

    @staticmethod
    def _metadata(message: IncomingMessage) -> dict[str, Any]:
        return {
            "platform": message.platform,
            "chat_id": message.chat_id,
            "chat_type": message.chat_type,
            "user_id": message.sender_id,
            "user_name": message.sender_name,
            "message_id": message.message_id,
        }

    def _route(
        self, message: IncomingMessage, bot_messages: list[dict[str, Any]], language: str
    ) -> list[OutgoingReply]:
        """Private replies go to the shopper alone, with one pointer left in the group."""
        replies: list[OutgoingReply] = []
        pointed = False
        for bot in bot_messages:
            body = str(bot.get("text") or "").strip()
            if not body:
                continue
            custom = bot.get("custom") if isinstance(bot.get("custom"), dict) else {}
            private = bool(custom.get("private")) and message.chat_type == "group"
            replies.append(self._reply(message, body, private=private, custom=custom))
            if private and not pointed:
                replies.append(self._reply(message, text("private_pointer", language)))
                pointed = True
        return replies

    @staticmethod
    def _reply(
        message: IncomingMessage,
        body: str,
        *,
        private: bool = False,
        custom: dict[str, Any] | None = None,
    ) -> OutgoingReply:
        return OutgoingReply(
            platform=message.platform,
            chat_id=message.chat_id,
            to_user=message.sender_id,
            to_user_name=message.sender_name,
            text=body,
            private=private,
            custom=custom or {},
        )
