"""``ReferralService`` over SQL: primary keys make "first binding wins" and "one reward" hold.

- An invitee row is keyed by the invitee, so a second binding cannot be inserted.
- Every shopper's first paid order is keyed by the shopper: the first report wins, and a later
  or racing report of another order sees that it is not the first.
- A reward row is keyed by the invitee: whichever report of the first order inserts it is the
  one that granted it; the others find it there (``INSERT ... ON CONFLICT DO NOTHING``, which on
  PostgreSQL waits for a racing insert to commit rather than failing).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Final

from sqlalchemy import Connection, select

from assistant.commerce import promotions_schema as t
from assistant.commerce.models import as_utc
from assistant.commerce.promo_codes import normalize_code, random_code
from assistant.commerce.referrals import (
    BindResult,
    BindStatus,
    ReferralReward,
    RewardResult,
    RewardStatus,
)
from assistant.commerce.sql_engine import SqlDatabase, insert_if_absent

_CODE_ATTEMPTS: Final = 5


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SqlReferrals:
    """Invite codes, bindings and rewards in the ``promo_referral*`` tables of ``database``."""

    def __init__(
        self,
        database: SqlDatabase,
        *,
        clock: Callable[[], datetime] = _utc_now,
        new_code: Callable[[], str] = random_code,
    ) -> None:
        self._db = database
        self._clock = clock
        self._new_code = new_code

    def invite_code(self, shopper_id: str, now: datetime | None = None) -> str:
        """The shopper's invite code, made once (several instances asking at once agree)."""
        now = self._now(now)
        with self._db.read() as conn:
            existing = _code_of(conn, shopper_id)
        if existing is not None:
            return existing
        for _ in range(_CODE_ATTEMPTS):
            with self._db.write() as conn:
                code = self._new_code()
                if _owner_of(conn, code) is not None:
                    continue  # drawn before for someone else; draw again
                insert_if_absent(
                    conn,
                    t.referral_codes,
                    {"shopper_id": shopper_id, "code": code, "created_at": now},
                )
                # Ours, or the one a racing request stored first: both callers get the same.
                stored = _code_of(conn, shopper_id)
            if stored is not None:
                return stored
        raise RuntimeError("could not draw an unused invite code")

    def register_invitee(
        self, code: str, invitee_id: str, now: datetime | None = None
    ) -> BindResult:
        """Bind the invitee to the code's owner unless a rule says no (see ``BindStatus``)."""
        now = self._now(now)
        with self._db.write() as conn:
            referrer_id = _owner_of(conn, normalize_code(code))
            if referrer_id is None:
                return BindResult(BindStatus.UNKNOWN_CODE)
            bound_to = _referrer_of(conn, invitee_id)
            if bound_to is not None:
                return BindResult(BindStatus.ALREADY_BOUND, bound_to)
            if referrer_id == invitee_id:
                return BindResult(BindStatus.SELF_INVITE)
            if _referrer_of(conn, referrer_id) == invitee_id:
                return BindResult(BindStatus.CIRCULAR)
            if _first_order(conn, invitee_id) is not None:
                return BindResult(BindStatus.EXISTING_CUSTOMER)
            inserted = insert_if_absent(
                conn,
                t.referral_bindings,
                {"invitee_id": invitee_id, "referrer_id": referrer_id, "bound_at": now},
            )
            if not inserted:
                # Another code was entered at the same moment and got there first.
                return BindResult(BindStatus.ALREADY_BOUND, _referrer_of(conn, invitee_id))
        return BindResult(BindStatus.BOUND, referrer_id)

    def referrer_of(self, invitee_id: str) -> str | None:
        """Who invited this shopper, or None."""
        with self._db.read() as conn:
            return _referrer_of(conn, invitee_id)

    def order_paid(
        self, shopper_id: str, order_id: str, now: datetime | None = None
    ) -> RewardResult:
        """Record a paid order; grant the referrer's reward if it is the invitee's first."""
        now = self._now(now)
        with self._db.write() as conn:
            insert_if_absent(
                conn,
                t.first_paid_orders,
                {"shopper_id": shopper_id, "order_id": order_id, "paid_at": now},
            )
            first = _first_order(conn, shopper_id)
            referrer_id = _referrer_of(conn, shopper_id)
            if referrer_id is None:
                return RewardResult(RewardStatus.NOT_REFERRED)
            if first != order_id:
                return RewardResult(RewardStatus.NOT_FIRST_ORDER)
            granted = insert_if_absent(
                conn,
                t.referral_rewards,
                {
                    "invitee_id": shopper_id,
                    "referrer_id": referrer_id,
                    "order_id": order_id,
                    "granted_at": now,
                },
            )
            row = conn.execute(
                select(t.referral_rewards).where(t.referral_rewards.c.invitee_id == shopper_id)
            ).one()
        reward = _reward_from_row(row)
        return RewardResult(
            RewardStatus.GRANTED if granted else RewardStatus.ALREADY_GRANTED, reward
        )

    def rewards_of(self, referrer_id: str) -> list[ReferralReward]:
        """The rewards this referrer earned, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(t.referral_rewards)
                .where(t.referral_rewards.c.referrer_id == referrer_id)
                .order_by(t.referral_rewards.c.granted_at, t.referral_rewards.c.invitee_id)
            ).all()
        return [_reward_from_row(row) for row in rows]

    def _now(self, now: datetime | None) -> datetime:
        return as_utc(self._clock() if now is None else now, "now")


def _code_of(conn: Connection, shopper_id: str) -> str | None:
    return conn.execute(
        select(t.referral_codes.c.code).where(t.referral_codes.c.shopper_id == shopper_id)
    ).scalar_one_or_none()


def _owner_of(conn: Connection, code: str) -> str | None:
    return conn.execute(
        select(t.referral_codes.c.shopper_id).where(t.referral_codes.c.code == code)
    ).scalar_one_or_none()


def _referrer_of(conn: Connection, invitee_id: str) -> str | None:
    return conn.execute(
        select(t.referral_bindings.c.referrer_id).where(
            t.referral_bindings.c.invitee_id == invitee_id
        )
    ).scalar_one_or_none()


def _first_order(conn: Connection, shopper_id: str) -> str | None:
    return conn.execute(
        select(t.first_paid_orders.c.order_id).where(t.first_paid_orders.c.shopper_id == shopper_id)
    ).scalar_one_or_none()


def _reward_from_row(row: Any) -> ReferralReward:
    return ReferralReward(
        referrer_id=row.referrer_id,
        invitee_id=row.invitee_id,
        order_id=row.order_id,
        granted_at=row.granted_at,
    )
