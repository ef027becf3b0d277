"""Staff answering a hand-off from the console: reply in the group (@) or privately, and close.

Replies leave the way the assistant's do (the compliance guard, then the platform's connector
with retries; the local web chat keeps them for its page to poll) and are added to the Rasa
conversation, so the transcript and the assistant's memory of it include what staff said.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.commerce.models import HandoffRequest
from assistant.groupchat.pipeline import NoRoute
from assistant.handoff.conversations import ConversationUnavailable, RasaConversations
from assistant.handoff.service import HandoffService
from assistant.handoff.texts import handoff_text
from assistant.messages import OutgoingReply

if TYPE_CHECKING:
    from assistant.groupchat.pipeline import GroupChat

log = logging.getLogger("assistant.handoff")


class ReplyRefused(RuntimeError):
    """The reply was not sent: the guard blocked it, or no connector can reach the shopper."""

    def __init__(self, message: str, *, rules: list[str] | None = None) -> None:
        super().__init__(message)
        self.rules = rules or []


@dataclass(frozen=True)
class StaffReply:
    """What happened to a staff reply: the text the shopper got and whether it arrived."""

    handoff: HandoffRequest
    text: str
    private: bool
    delivered: bool
    changed_by_guard: bool


class StaffDesk:
    """Reply to and close hand-offs on behalf of a staff member."""

    def __init__(
        self,
        service: HandoffService,
        conversations: RasaConversations,
        chat: GroupChat,
    ) -> None:
        self.service = service
        self.conversations = conversations
        # The chat guards and delivers staff replies like every other reply.
        self.chat = chat

    async def reply(self, handoff_id: int, text: str, *, private: bool, actor: str) -> StaffReply:
        """Send ``text`` to the shopper of an open hand-off, as ``actor``."""
        request = await asyncio.to_thread(self.service.get_open, handoff_id)
        private = private and request.chat_type == "group"
        label = handoff_text("staff_label", request.language)
        outgoing = self._reply_to(request, label + text.strip(), private=private)
        guarded, changes = await self.chat.guarded(
            [outgoing], request.conversation_id, request.language
        )
        if any(change.blocked for change in changes):
            rules = [rule for change in changes for rule in change.rule_ids]
            raise ReplyRefused(
                "the compliance guard blocked this reply; please rephrase it", rules=rules
            )
        sent = guarded[0]
        delivered = await self._deliver(sent)
        await self._remember(request.conversation_id, sent.text, actor)
        updated = await asyncio.to_thread(self.service.answered, handoff_id, actor)
        log.info(
            "staff replied",
            extra={"handoff": handoff_id, "staff": actor, "private": private, "sent": delivered},
        )
        return StaffReply(updated, sent.text, private, delivered, bool(changes))

    async def close(self, handoff_id: int, *, actor: str) -> HandoffRequest:
        """Give the conversation back to the assistant and tell the shopper."""
        request = await asyncio.to_thread(self.service.get_open, handoff_id)
        # Resume first: a hand-off closed while Rasa stays paused would silence the shopper.
        await self.conversations.resume(request.conversation_id)
        closed = await asyncio.to_thread(self.service.close, handoff_id, actor)
        notice = self._reply_to(request, handoff_text("closed", request.language), private=False)
        await self._deliver(notice)
        await self._remember(request.conversation_id, notice.text, None)
        log.info("hand-off closed", extra={"handoff": handoff_id, "staff": actor})
        return closed

    @staticmethod
    def _reply_to(request: HandoffRequest, body: str, *, private: bool) -> OutgoingReply:
        in_group = request.chat_type == "group"
        return OutgoingReply(
            platform=request.platform,
            chat_id=request.chat_id,
            to_user=request.user_id,
            to_user_name=request.user_name,
            text=body,
            private=private,
            chat_type="group" if in_group else "private",
            mention=in_group and not private,
        )

    async def _deliver(self, reply: OutgoingReply) -> bool:
        try:
            return await self.chat.deliver(reply)
        except NoRoute as problem:
            raise ReplyRefused(str(problem)) from problem

    async def _remember(self, conversation_id: str, text: str, staff: str | None) -> None:
        """Add the line to the Rasa conversation; the shopper has it already, so a Rasa outage
        only costs the transcript that line (logged), never the reply."""
        try:
            await self.conversations.add_bot_message(conversation_id, text, staff)
        except ConversationUnavailable as problem:
            log.warning(
                "staff line not added to the conversation",
                extra={"conversation_id": conversation_id, "error": str(problem)},
            )
