"""The one path of a shopper message: addressed? → stored once → Rasa → replies routed → sent.

Connectors call :meth:`GroupChat.accept` (store, then answer in the background, so the platform
is acknowledged at once); the local web chat calls :meth:`GroupChat.handle` and shows the
replies itself. Both share every rule below.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from assistant.compliance.guard import OutgoingGuard
from assistant.groupchat.addressing import is_addressed, strip_mentions
from assistant.groupchat.inbox import MessageInbox
from assistant.groupchat.ratelimit import RateLimiter, RateLimits, Verdict
from assistant.language import Language, detect_language
from assistant.messages import IncomingMessage, OutgoingReply
from assistant.rasa_client import RasaClient, RasaUnavailable
from assistant.texts import text

if TYPE_CHECKING:
    from assistant.config import GroupPolicy
    from assistant.connectors.base import Connector
    from assistant.connectors.delivery import Delivery

logger = logging.getLogger("assistant.chat")

_REPEATS = re.compile(r"(\W)\1{3,}")

# What Rasa reads for a message carrying photos: the send_photo intent, in Rasa's own syntax.
PHOTO_INTENT = "/send_photo"


class NoRoute(RuntimeError):
    """No running connector can send to this platform."""


class LocalOutbox(Protocol):
    """Where replies for a platform without a push API wait for its page (the web chat)."""

    def push(self, reply: OutgoingReply) -> int: ...


@dataclass(frozen=True)
class ChatRules:
    """Group settings the pipeline applies to every platform alike."""

    assistant_names: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    max_message_chars: int = 2000
    # "platform:chat_id" or "platform:*" -> that group's policy.
    groups: Mapping[str, GroupPolicy] = field(default_factory=dict)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    workers: int = 16

    def policy(self, message: IncomingMessage) -> GroupPolicy | None:
        return self.groups.get(f"{message.platform}:{message.chat_id}") or self.groups.get(
            f"{message.platform}:*"
        )


class GroupChat:
    """Turns incoming messages into replies and sends them, the same for every platform."""

    def __init__(
        self,
        rasa: RasaClient,
        inbox: MessageInbox,
        rules: ChatRules,
        *,
        connectors: Mapping[str, Connector] | None = None,
        delivery: Delivery | None = None,
        guard: OutgoingGuard | None = None,
    ) -> None:
        self.rasa = rasa
        self.inbox = inbox
        self.rules = rules
        self.connectors: dict[str, Connector] = dict(connectors or {})
        self.delivery = delivery
        # Without a configured guard the repo's compliance.yml still applies (no review table).
        self.guard = guard if guard is not None else OutgoingGuard()
        self.limiter = RateLimiter(rules.rate_limits)
        self._workers = asyncio.Semaphore(rules.workers)
        self._conversations: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Where replies said outside a shopper's request (staff answers, group-buy outcomes)
        # wait for a platform without a push API: the web chat page polls them. Set by the app.
        self.local_outboxes: dict[str, LocalOutbox] = {}
        # Staff analytics recorder (assistant.analytics.AnalyticsStore); None records nothing.
        self.analytics: Any = None

    # ------------------------------------------------------------------ entry points
    async def accept(self, message: IncomingMessage) -> bool:
        """Store ``message`` and answer it in the background; False when it is not answered
        (not addressed, a platform retry, or its shopper is over the rate limit)."""
        verdict = self._admit(message)
        if verdict is None:
            return False
        if verdict is not Verdict.ALLOWED:
            if verdict is Verdict.NOTIFY:
                self._spawn(self._send_all(message, [self._flood_notice(message)]))
            return False
        # The inbox write is the dedup check and the no-loss guarantee at once; it happens
        # before the platform gets its acknowledgement.
        if not await asyncio.to_thread(self.inbox.record, message):
            self._log_duplicate(message)
            return False
        self._spawn(self._process(message))
        return True

    async def handle(self, message: IncomingMessage) -> list[OutgoingReply]:
        """Answer ``message`` now and return the replies instead of sending them (web chat)."""
        verdict = self._admit(message)
        if verdict is None:
            return []
        if verdict is not Verdict.ALLOWED:
            return [self._flood_notice(message)] if verdict is Verdict.NOTIFY else []
        if not await asyncio.to_thread(self.inbox.record, message):
            self._log_duplicate(message)
            return []
        async with self._conversation(message):
            replies, answered = await self._answer(message)
            if answered:
                await asyncio.to_thread(
                    self.inbox.mark_answered, message, [r.text for r in replies]
                )
            return replies

    async def start(self) -> int:
        """Answer what was stored but not answered before the last stop; returns how many."""
        pending = await asyncio.to_thread(self.inbox.pending)
        for message in pending:
            if message.platform in self.connectors:
                self._spawn(self._process(message))
        if pending:
            logger.info(
                "answering messages kept from before the restart", extra={"count": len(pending)}
            )
        return len(pending)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every accepted message is answered and sent (tests, benchmarks, stop)."""
        while self._tasks:
            await asyncio.wait_for(asyncio.gather(*list(self._tasks)), timeout)

    async def stop(self) -> None:
        """Cancel work in progress; its messages stay in the inbox for the next start."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def deliver(self, reply: OutgoingReply) -> bool:
        """Send one reply said outside a shopper's request; False when it did not arrive.

        Raises ``NoRoute`` when no running connector serves the reply's platform."""
        outbox = self.local_outboxes.get(reply.platform)
        if outbox is not None:
            outbox.push(reply)
            return True
        connector = self.connectors.get(reply.platform)
        if connector is None or self.delivery is None:
            raise NoRoute(f"no connector is running for platform {reply.platform!r}")
        return await self.delivery.send(connector, reply)

    async def announce(self, platform: str, chat_id: str, body: str) -> bool:
        """Tell a whole group something (a group-buy formed or failed): no @-mention, and
        through the same compliance guard as every reply."""
        reply = OutgoingReply(
            platform=platform,
            chat_id=chat_id,
            to_user="",
            to_user_name="",
            text=body,
            mention=False,
        )
        guarded, _ = await self.guarded([reply], f"{platform}:{chat_id}:", detect_language(body))
        return all([await self.deliver(r) for r in guarded])

    async def guarded(
        self, replies: list[OutgoingReply], conversation_id: str, language: Language
    ) -> tuple[list[OutgoingReply], list[Any]]:
        """``replies`` through the compliance guard, and what it changed (kept for review).

        Every way out passes here: the assistant's answers, group announcements, staff replies.
        """
        guarded, changes = self.guard.check_replies(replies, language)
        if changes:
            # Rare (only changed replies are stored), and kept off the event loop.
            await asyncio.to_thread(self.guard.record, conversation_id, changes, language)
        return guarded, changes

    # ------------------------------------------------------------------ steps
    def _admit(self, message: IncomingMessage) -> Verdict | None:
        """None when the message is not for the assistant; else the rate limiter's verdict."""
        policy = self.rules.policy(message)
        keywords = [*self.rules.keywords, *(policy.keywords if policy else ())]
        product_questions = bool(policy and policy.product_questions)
        if not is_addressed(message, keywords, product_questions=product_questions):
            return None
        verdict = self.limiter.check(message)
        if verdict is not Verdict.ALLOWED:
            logger.warning(
                "rate limited",
                extra={"conversation_id": message.conversation_id, "verdict": verdict.value},
            )
        return verdict

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _conversation(self, message: IncomingMessage) -> asyncio.Lock:
        """One shopper's messages are answered in order; different shoppers at once."""
        lock = self._conversations.get(message.conversation_id)
        if lock is None:
            lock = self._conversations[message.conversation_id] = asyncio.Lock()
            if len(self._conversations) > 10_000:
                for key in [k for k, v in self._conversations.items() if not v.locked()]:
                    del self._conversations[key]
                self._conversations[message.conversation_id] = lock
        return lock

    async def _process(self, message: IncomingMessage) -> None:
        try:
            async with self._workers, self._conversation(message):
                replies, answered = await self._answer(message)
                await self._send_all(message, replies)
                # Marked after sending: a stop in between answers it again after the restart.
                if answered:
                    await asyncio.to_thread(
                        self.inbox.mark_answered, message, [r.text for r in replies]
                    )
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one bad message must not stop the others
            logger.exception(
                "message could not be answered",
                extra={"conversation_id": message.conversation_id},
            )

    async def _send_all(self, message: IncomingMessage, replies: list[OutgoingReply]) -> None:
        connector = self.connectors.get(message.platform)
        if connector is None or self.delivery is None:
            logger.error("no connector to send with", extra={"platform": message.platform})
            return
        private_failed = False
        for reply in connector.combine(replies):
            if reply.pointer and private_failed:
                language = detect_language(message.text)
                note = await connector.private_failed_note(reply, language)
                reply = replace(reply, text=note, pointer=False)
            delivered = await self.delivery.send(connector, reply)
            private_failed = private_failed or (reply.private and not delivered)

    async def _answer(self, message: IncomingMessage) -> tuple[list[OutgoingReply], bool]:
        """Rasa's replies to a stored message, routed and passed through the compliance guard,
        and whether Rasa answered (when it did not, the inbox marks the message failed and the
        shopper is asked to try again). Both entry points answer here: one guarded way out."""
        replies, answered, language = await self._compose(message)
        guarded, _ = await self.guarded(replies, message.conversation_id, language)
        recorder = self.analytics
        if recorder is not None:
            try:
                question = strip_mentions(message.text, self._names(message))
                await asyncio.to_thread(recorder.record_turn, message, question, guarded, answered)
            except Exception:  # noqa: BLE001 - a lost statistic must never cost a reply
                logger.exception(
                    "could not record analytics",
                    extra={"conversation_id": message.conversation_id},
                )
        return guarded, answered

    async def _compose(
        self, message: IncomingMessage
    ) -> tuple[list[OutgoingReply], bool, Language]:
        """The replies before the guard, whether Rasa answered, and the shopper's language."""
        started = time.perf_counter()
        cleaned = strip_mentions(message.text, self._names(message))
        language = detect_language(cleaned)
        notes: list[str] = []
        # Rasa reads "/intent{...}" as an intent with entities: a shopper must not be able to
        # skip NLU (or fill slots) that way, so their own leading slashes are dropped.
        cleaned = cleaned.lstrip("/").strip()
        if message.attachments and not cleaned:
            # Photos alone go to Rasa as the send_photo intent (Rasa's "/intent" syntax); with
            # words, the words are the message and the photos ride along in the metadata.
            cleaned = PHOTO_INTENT
        if not cleaned:
            return [self._reply(message, text("empty_message", language))], True, language
        if len(cleaned) > self.rules.max_message_chars:
            cleaned = cleaned[: self.rules.max_message_chars]
            notes.append(text("too_long", language, limit=self.rules.max_message_chars))
        # "？？？？？？" or a wall of "。" says no more than three would, and long runs of one
        # character are far outside what the NLU model was trained on (it hallucinates entities).
        cleaned = _REPEATS.sub(r"\1\1\1", cleaned)
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
            return [self._reply(message, text("rasa_down", language))], False, language
        replies = [self._reply(message, note) for note in notes]
        replies += self._route(message, bot_messages, language)
        logger.info(
            "answered",
            extra={
                "conversation_id": message.conversation_id,
                "replies": len(replies),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return replies, True, language

    def _names(self, message: IncomingMessage) -> list[str]:
        connector = self.connectors.get(message.platform)
        bot_name = connector.settings.bot_name if connector is not None else ""
        return [n for n in (bot_name, *self.rules.assistant_names) if n]

    @staticmethod
    def _metadata(message: IncomingMessage) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "platform": message.platform,
            "chat_id": message.chat_id,
            "chat_type": message.chat_type,
            "user_id": message.sender_id,
            "user_name": message.sender_name,
            "message_id": message.message_id,
        }
        if message.attachments:
            metadata["attachments"] = [dict(a) for a in message.attachments]
        return metadata

    def _route(
        self, message: IncomingMessage, bot_messages: list[dict[str, Any]], language: str
    ) -> list[OutgoingReply]:
        """Private replies go to the shopper alone, with one pointer left in the group; where
        the platform cannot reach a shopper privately, the group is told to ask in private."""
        connector = self.connectors.get(message.platform)
        can_private = connector is None or connector.can_reach_privately(message)
        replies: list[OutgoingReply] = []
        pointed = False
        for bot in bot_messages:
            body = str(bot.get("text") or "").strip()
            if not body:
                continue
            custom = bot.get("custom") if isinstance(bot.get("custom"), dict) else {}
            private = bool(custom.get("private")) and message.chat_type == "group"
            if private and not can_private:
                if not pointed:
                    replies.append(self._reply(message, text("private_unavailable", language)))
                    pointed = True
                continue
            replies.append(self._reply(message, body, private=private, custom=custom))
            if private and not pointed:
                # An action may word the group's note itself ("券码已私信发给你").
                note = str(custom.get("group_note") or text("private_pointer", language))
                pointer = self._reply(message, note)
                replies.append(replace(pointer, pointer=True))
                pointed = True
        return replies

    def _flood_notice(self, message: IncomingMessage) -> OutgoingReply:
        return self._reply(message, text("rate_limited", detect_language(message.text)))

    def _log_duplicate(self, message: IncomingMessage) -> None:
        logger.info(
            "duplicate message ignored",
            extra={"message_id": message.message_id, "platform": message.platform},
        )

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
            chat_type=message.chat_type,
            in_reply_to=message.message_id,
            context=dict(message.context),
            mention=message.chat_type == "group" and not private,
        )
