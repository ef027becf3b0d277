"""Per-shopper and per-group rate limits: a flooding shopper is told once, then ignored."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, Field

from assistant.messages import IncomingMessage

__all__ = ["Limit", "RateLimiter", "RateLimits", "Verdict"]


class Limit(BaseModel):
    """At most ``messages`` in any ``seconds`` window."""

    messages: int = Field(ge=1)
    seconds: float = Field(gt=0)


class RateLimits(BaseModel):
    """``chat.rate_limits`` in assistant.yml."""

    per_shopper: Limit = Limit(messages=12, seconds=60)
    per_group: Limit = Limit(messages=120, seconds=60)


class Verdict(Enum):
    ALLOWED = "allowed"
    NOTIFY = "notify"  # over the limit for the first time in this window: tell the shopper once
    SILENT = "silent"  # still over the limit: say nothing


@dataclass
class _Window:
    times: deque[float]
    notified: bool = False


class RateLimiter:
    """Sliding windows kept in process (one app instance; see docs/connectors for Redis)."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._shoppers: dict[str, _Window] = {}
        self._groups: dict[str, _Window] = {}

    def check(self, message: IncomingMessage) -> Verdict:
        """Count ``message`` against its shopper's and its group's windows."""
        now = self._clock()
        shopper = self._window(
            self._shoppers, message.conversation_id, self.limits.per_shopper, now
        )
        group_key = f"{message.platform}:{message.chat_id}"
        group = self._window(self._groups, group_key, self.limits.per_group, now)
        over_shopper = len(shopper.times) >= self.limits.per_shopper.messages
        over_group = message.chat_type == "group" and (
            len(group.times) >= self.limits.per_group.messages
        )
        if not over_shopper and not over_group:
            shopper.times.append(now)
            shopper.notified = False
            if message.chat_type == "group":
                group.times.append(now)
            return Verdict.ALLOWED
        if shopper.notified:
            return Verdict.SILENT
        shopper.notified = True
        return Verdict.NOTIFY

    def _window(self, table: dict[str, _Window], key: str, limit: Limit, now: float) -> _Window:
        window = table.get(key)
        if window is None:
            window = table[key] = _Window(deque())
            if len(table) > 50_000:  # forget idle windows so memory stays bounded
                self._prune(table, limit, now)
        while window.times and now - window.times[0] >= limit.seconds:
            window.times.popleft()
        return window

    @staticmethod
    def _prune(table: dict[str, _Window], limit: Limit, now: float) -> None:
        for key in [
            k for k, w in table.items() if not w.times or now - w.times[-1] >= limit.seconds
        ]:
            del table[key]
