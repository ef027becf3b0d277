"""Let a shopper see an order only after giving its id and the last 4 digits of its phone."""

from __future__ import annotations

import hmac
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Final

from assistant.commerce.interfaces import OrderStore
from assistant.commerce.models import Order
from assistant.commerce.order_text import (
    extract_order_id,
    extract_phone_digits,
    normalize_order_id,
    normalize_phone_digits,
)

__all__ = [
    "OrderVerifier",
    "VerificationResult",
    "VerificationStatus",
    "extract_order_id",
    "extract_phone_digits",
    "normalize_order_id",
    "normalize_phone_digits",
]

# Compared against when the order does not exist, so that path does the same work as a real
# comparison; it is not digits, so it can never match.
_NO_ORDER_DIGITS: Final = "----"


class VerificationStatus(str, Enum):
    """Outcome of one verification attempt."""

    VERIFIED = "verified"
    # Wrong digits and unknown order look the same, so nobody learns which order ids exist.
    MISMATCH = "mismatch"
    # Too many failed attempts recently for this order id (or this requester); try later.
    LOCKED = "locked"
    # The input is not shaped like an order id / phone digits; nothing was looked up or counted.
    INVALID_ORDER_ID = "invalid_order_id"
    INVALID_PHONE_DIGITS = "invalid_phone_digits"


@dataclass(frozen=True)
class VerificationResult:
    """The outcome; ``order`` is set only when VERIFIED.

    ``attempts_left`` is how many more failures are allowed before the lock, and
    ``retry_after`` how long a lock still lasts (set when locked or when this failure locked).
    """

    status: VerificationStatus
    order: Order | None = None
    attempts_left: int = 0
    retry_after: timedelta | None = None

    @property
    def verified(self) -> bool:
        """True when the shopper proved the order is theirs."""
        return self.status is VerificationStatus.VERIFIED


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class _FailureLedger:
    """Recent failed attempts per key, forgotten after ``window``; thread-safe, in memory."""

    def __init__(self, limit: int, window: timedelta, clock: Callable[[], datetime]) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and now - failures[0] >= self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def left(self, keys: list[str]) -> tuple[int, timedelta | None]:
        """Attempts left before the lock (fewest over ``keys``) and, if locked, for how long."""
        with self._lock:
            return self._left(keys, self._clock())

    def _left(self, keys: list[str], now: datetime) -> tuple[int, timedelta | None]:
        left = self._limit
        retry_after: timedelta | None = None
        for key in keys:
            failures = self._recent(key, now)
            left = min(left, max(0, self._limit - len(failures)))
            if len(failures) >= self._limit:
                # Unlocks when enough of the failures have aged out to drop below the limit.
                unlock = failures[len(failures) - self._limit] + self._window - now
                retry_after = unlock if retry_after is None else max(retry_after, unlock)
        return left, retry_after

    def fail(self, keys: list[str]) -> tuple[int, timedelta | None]:
        """Record a failure under every key; returns what ``left`` would now say."""
        with self._lock:
            now = self._clock()
            for key in keys:
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)
            return self._left(keys, now)

    def clear(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


class OrderVerifier:
    """Checks (order id, last 4 phone digits) pairs against an ``OrderStore``.

    After ``max_attempts`` failures within ``lockout`` for the same order id, that id is locked
    (whether or not it exists, so the lock reveals nothing either). If the caller passes a
    ``requester`` (the conversation id), failures are also counted per requester, so one shopper
    cannot try many order ids. Counts live in this process's memory.
    """

    def __init__(
        self,
        store: OrderStore,
        max_attempts: int = 3,
        *,
        lockout: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._store = store
        self._max_attempts = max_attempts
        self._ledger = _FailureLedger(max_attempts, lockout, clock)

    def verify(
        self, order_id: str, phone_digits: str, *, requester: str | None = None
    ) -> VerificationResult:
        """Return VERIFIED with the order, or a result that says nothing about the order."""
        canonical = normalize_order_id(order_id)
        digits = normalize_phone_digits(phone_digits)
        requester_keys = [f"requester:{requester}"] if requester else []
        if canonical is None:
            left, _ = self._ledger.left(requester_keys)
            return VerificationResult(VerificationStatus.INVALID_ORDER_ID, attempts_left=left)
        keys = [f"order:{canonical}", *requester_keys]
        left, retry_after = self._ledger.left(keys)
        if digits is None:
            return VerificationResult(VerificationStatus.INVALID_PHONE_DIGITS, attempts_left=left)
        if retry_after is not None:
            # Even the right digits are refused while locked, or the lock would not slow guessing.
            return VerificationResult(VerificationStatus.LOCKED, retry_after=retry_after)

        order = self._store.get_order(canonical)
        expected = normalize_phone_digits(order.phone) if order is not None else None
        matches = hmac.compare_digest(expected or _NO_ORDER_DIGITS, digits)
        if order is not None and matches:
            self._ledger.clear(keys)
            return VerificationResult(
                VerificationStatus.VERIFIED, order=order, attempts_left=self._max_attempts
            )
        left, retry_after = self._ledger.fail(keys)
        return VerificationResult(
            VerificationStatus.MISMATCH, attempts_left=left, retry_after=retry_after
        )
