"""Outgoing sends for every platform: retries with backoff, and a record of what never arrived."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Table, Text, insert, select
from sqlalchemy.engine import Engine

from assistant.connectors.base import Connector, DeliveryFailed
from assistant.groupchat.inbox import chat_tables
from assistant.messages import OutgoingReply

__all__ = ["Delivery", "RetryPolicy", "undelivered_table"]

log = logging.getLogger("assistant.delivery")

undelivered_table = Table(
    "chat_undelivered",
    chat_tables,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False),
    Column("chat_id", String(256), nullable=False),
    Column("to_user", String(256), nullable=False),
    Column("private", Boolean, nullable=False),
    Column("text", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` in all, waits doubling from ``base_seconds`` with jitter,
    never above ``max_seconds`` (a platform's Retry-After is honoured up to that)."""

    attempts: int = 4
    base_seconds: float = 0.5
    max_seconds: float = 8.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_seconds)
        backoff = self.base_seconds * (2 ** (attempt - 1))
        return min(self.max_seconds, backoff * (0.8 + 0.4 * random.random()))


class Delivery:
    """Sends replies through their connector; logs and stores the ones that failed for good."""

    def __init__(self, engine: Engine, policy: RetryPolicy | None = None) -> None:
        self.engine = engine
        self.policy = policy or RetryPolicy()
        chat_tables.create_all(engine, tables=[undelivered_table])

    async def send(self, connector: Connector, reply: OutgoingReply) -> bool:
        """True once the platform accepted ``reply``; False after the last failed attempt."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await connector.send(reply)
                return True
            except DeliveryFailed as failure:
                if failure.retryable and attempt < self.policy.attempts:
                    wait = self.policy.wait(attempt, failure.retry_after)
                    log.warning(
                        "send failed, retrying",
                        extra={
                            "platform": reply.platform,
                            "attempt": attempt,
                            "wait_s": round(wait, 2),
                            "error": failure.reason,
                        },
                    )
                    await asyncio.sleep(wait)
                    continue
                await asyncio.to_thread(self._record, reply, failure.reason, attempt)
                return False

    def _record(self, reply: OutgoingReply, error: str, attempts: int) -> None:
        log.error(
            "reply not delivered",
            extra={
                "platform": reply.platform,
                "conversation_id": reply.conversation_id,
                "attempts": attempts,
                "error": error,
            },
        )
        with self.engine.begin() as connection:
            connection.execute(
                insert(undelivered_table).values(
                    platform=reply.platform,
                    chat_id=reply.chat_id,
                    to_user=reply.to_user,
                    private=reply.private,
                    text=reply.text,
                    error=error[:2000],
                    attempts=attempts,
                    failed_at=datetime.now(timezone.utc),
                )
            )

    def undelivered(
        self, platform: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Replies that never reached the shopper, oldest first (for staff to follow up);
        with ``limit``, the latest ``limit`` of them."""
        query = select(undelivered_table).order_by(undelivered_table.c.id.desc())
        if platform:
            query = query.where(undelivered_table.c.platform == platform)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            rows = [dict(row) for row in connection.execute(query).mappings()]
        return rows[::-1]
