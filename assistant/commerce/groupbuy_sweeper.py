"""Close group-buys at their deadline and tell each group how its group-buy ended.

Runs in the app as a background task. The announcement goes through an ``announce(platform,
chat_id, text)`` coroutine (``GroupChat.announce`` in the app; a recording function in tests).
Group chats have no language of their own, so the group is told in Chinese and English.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from assistant.commerce.promotion_desk import PromotionDesk, outcome_text

logger = logging.getLogger("assistant.promotions")

Announce = Callable[[str, str, str], Awaitable[Any]]
# The knowledge base a chat (``platform:chat_id``) sees, for product names.
KnowledgeForChat = Callable[[str], Any]


async def sweep_once(
    desk: PromotionDesk, announce: Announce, knowledge_for_chat: KnowledgeForChat
) -> int:
    """Fail overdue group-buys and announce every outcome not yet told; returns how many."""
    outcomes = await asyncio.to_thread(desk.due_outcomes)
    for event, group_buy in outcomes:
        platform, _, chat_id = event.chat_id.partition(":")
        knowledge = knowledge_for_chat(event.chat_id)
        message = "\n".join(
            outcome_text(event.kind, group_buy, knowledge, language) for language in ("zh", "en")
        )
        try:
            await announce(platform, chat_id, message)
        except Exception:  # noqa: BLE001 - one unreachable group must not stop the others
            logger.exception(
                "group-buy outcome not announced",
                extra={"group_buy": event.group_buy_id, "chat": event.chat_id},
            )
    return len(outcomes)


async def run_sweeper(
    desk: PromotionDesk,
    announce: Announce,
    knowledge_for_chat: KnowledgeForChat,
    *,
    every_seconds: float = 30.0,
) -> None:
    """``sweep_once`` every ``every_seconds`` until cancelled; a failed round is logged only."""
    while True:
        try:
            await sweep_once(desk, announce, knowledge_for_chat)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a database hiccup must not end the sweeper
            logger.exception("group-buy sweep failed; trying again next round")
        await asyncio.sleep(every_seconds)


def sweeper_context(services: Any, chat: Any) -> Callable[[Any], AsyncIterator[None]]:
    """An aiohttp ``cleanup_ctx`` running the sweeper while the app runs.

    ``services`` is the app's ``runtime.Services``; ``chat`` its ``GroupChat``, whose
    ``announce`` posts to a group. Without promotions or ``announce`` nothing runs.
    """

    async def context(_: Any) -> AsyncIterator[None]:
        announce = getattr(chat, "announce", None)
        desk = services.promotions
        task = None
        if desk is not None and announce is not None:
            task = asyncio.create_task(
                run_sweeper(
                    desk,
                    announce,
                    # Any user id will do: the chat alone decides the knowledge base.
                    lambda chat_key: services.knowledge_for(f"{chat_key}:-"),
                    every_seconds=services.settings.promotions.sweep_seconds,
                )
            )
        elif desk is not None:
            logger.warning("group chats cannot be announced to; group-buys are not swept")
        yield
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    return context
