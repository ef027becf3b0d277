"""``GroupBuyService`` over SQL: seats and outcomes are decided by conditional UPDATEs.

A join is one transaction: ``UPDATE ... SET member_count = member_count + 1 WHERE status = 'open'
AND member_count < size AND deadline > now`` (setting ``status = 'formed'`` when that count
reaches ``size``), then the member row with seat = the new count. On PostgreSQL the UPDATE locks
the group-buy row, so racing joins queue there and each re-checks the newest count: the last seat
goes to exactly one of them, which alone sees the status change to formed. A shopper joining
twice at once collides on the (group-buy, shopper) key and that transaction rolls back whole.
Expiry is the same kind of UPDATE (``WHERE status = 'open' AND deadline <= now``), so a group-buy
either forms or fails, never both. SQLite runs writers one at a time (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, case, literal, select, update
from sqlalchemy.exc import IntegrityError

from assistant.commerce import promotions_schema as t
from assistant.commerce.groupbuys import (
    GroupBuy,
    GroupBuyEvent,
    GroupBuyEventKind,
    JoinResult,
    JoinStatus,
)
from assistant.commerce.models import as_money, as_utc
from assistant.commerce.promo_codes import normalize_code, random_code
from assistant.commerce.sql_engine import SqlDatabase
from assistant.commerce.sql_schema import UtcDateTime

_ID_ATTEMPTS: Final = 5


class SqlGroupBuys:
    """Group-buys in the ``promo_group_buy*`` tables of ``database``."""

    def __init__(self, database: SqlDatabase, *, new_id: Callable[[], str] = random_code) -> None:
        self._db = database
        self._new_id = new_id

    def start(
        self,
        *,
        product_id: str,
        chat_id: str,
        starter_id: str,
        size: int,
        price: Decimal,
        deadline: datetime,
        now: datetime,
    ) -> GroupBuy:
        """Open a group-buy with the starter in seat 1; ``size`` counts the starter."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 2:
            raise ValueError(f"size must be a whole number >= 2, got {size!r}")
        now = as_utc(now, "now")
        deadline = as_utc(deadline, "deadline")
        if deadline <= now:
            raise ValueError("deadline must be in the future")
        price = as_money(price, "price")
        for _ in range(_ID_ATTEMPTS):
            group_buy_id = self._new_id()
            try:
                with self._db.write() as conn:
                    conn.execute(
                        t.group_buys.insert().values(
                            group_buy_id=group_buy_id,
                            product_id=product_id,
                            chat_id=chat_id,
                            starter_id=starter_id,
                            size=size,
                            price=price,
                            created_at=now,
                            deadline=deadline,
                            status="open",
                            member_count=1,
                            announced=False,
                        )
                    )
                    conn.execute(
                        t.group_buy_members.insert().values(
                            group_buy_id=group_buy_id, shopper_id=starter_id, seat=1, joined_at=now
                        )
                    )
            except IntegrityError:
                continue  # drew an id already in use
            return GroupBuy(
                group_buy_id=group_buy_id,
                product_id=product_id,
                chat_id=chat_id,
                starter_id=starter_id,
                size=size,
                price=price,
                created_at=now,
                deadline=deadline,
                status="open",
                members=(starter_id,),
            )
        raise RuntimeError("could not draw an unused group-buy id")

    def join(self, group_buy_id: str, shopper_id: str, now: datetime) -> JoinResult:
        """Add the shopper if a seat is free and the deadline has not passed."""
        now = as_utc(now, "now")
        group_buy_id = normalize_code(group_buy_id)
        try:
            return self._try_join(group_buy_id, shopper_id, now)
        except IntegrityError:
            # The same shopper joined in a parallel request; ours rolled back, seat included.
            return JoinResult(JoinStatus.ALREADY_JOINED, self.get(group_buy_id))

    def get(self, group_buy_id: str) -> GroupBuy | None:
        """The group-buy with its members, or None."""
        with self._db.read() as conn:
            return _load(conn, normalize_code(group_buy_id))

    def open_in_chat(self, chat_id: str, now: datetime) -> list[GroupBuy]:
        """Joinable group-buys of the chat, soonest deadline first."""
        now = as_utc(now, "now")
        with self._db.read() as conn:
            ids = conn.execute(
                select(t.group_buys.c.group_buy_id)
                .where(t.group_buys.c.chat_id == chat_id)
                .where(t.group_buys.c.status == "open")
                .where(t.group_buys.c.deadline > now)
                .order_by(t.group_buys.c.deadline, t.group_buys.c.group_buy_id)
            ).scalars()
            loaded = [_load(conn, group_buy_id) for group_buy_id in ids.all()]
        return [group_buy for group_buy in loaded if group_buy is not None]

    def expire_due(self, now: datetime) -> list[GroupBuyEvent]:
        """Fail overdue open group-buys, then hand out every unannounced outcome once."""
        now = as_utc(now, "now")
        gb = t.group_buys.c
        with self._db.write() as conn:
            conn.execute(
                update(t.group_buys)
                .where(gb.status == "open")
                .where(gb.deadline <= now)
                .values(status="failed", closed_at=now)
            )
            due = conn.execute(
                select(gb.group_buy_id)
                .where(gb.status.in_(("formed", "failed")))
                .where(gb.announced.is_(False))
                .order_by(gb.closed_at, gb.group_buy_id)
            ).scalars()
            events: list[GroupBuyEvent] = []
            for group_buy_id in due.all():
                # Claimed by a conditional UPDATE: if two instances expire at once, only the one
                # that flips ``announced`` gets to announce it.
                claimed = conn.execute(
                    update(t.group_buys)
                    .where(gb.group_buy_id == group_buy_id)
                    .where(gb.announced.is_(False))
                    .values(announced=True)
                ).rowcount
                group_buy = _load(conn, group_buy_id) if claimed == 1 else None
                if group_buy is not None and group_buy.status != "open":
                    kind: GroupBuyEventKind = "formed" if group_buy.status == "formed" else "failed"
                    events.append(
                        GroupBuyEvent(
                            kind=kind,
                            group_buy_id=group_buy.group_buy_id,
                            chat_id=group_buy.chat_id,
                            product_id=group_buy.product_id,
                            price=group_buy.price,
                            members=group_buy.members,
                            at=group_buy.closed_at or now,
                        )
                    )
        return events

    def claim_announcement(self, group_buy_id: str) -> bool:
        """Take the announcing of a formed or failed group-buy's outcome; True for one caller.

        The join that forms a group-buy tells the chat at once through this, so ``expire_due``
        does not hand the same outcome out again.
        """
        gb = t.group_buys.c
        with self._db.write() as conn:
            claimed = conn.execute(
                update(t.group_buys)
                .where(gb.group_buy_id == normalize_code(group_buy_id))
                .where(gb.status != "open")
                .where(gb.announced.is_(False))
                .values(announced=True)
            ).rowcount
        return claimed == 1

    def _try_join(self, group_buy_id: str, shopper_id: str, now: datetime) -> JoinResult:
        gb = t.group_buys.c
        with self._db.write() as conn:
            current = _load(conn, group_buy_id)
            if current is None:
                return JoinResult(JoinStatus.UNKNOWN_GROUP_BUY)
            if shopper_id in current.members:
                return JoinResult(JoinStatus.ALREADY_JOINED, current)
            taken = conn.execute(
                update(t.group_buys)
                .where(gb.group_buy_id == group_buy_id)
                .where(gb.status == "open")
                .where(gb.member_count < gb.size)
                .where(gb.deadline > now)
                .values(
                    member_count=gb.member_count + 1,
                    status=case((gb.member_count + 1 >= gb.size, "formed"), else_="open"),
                    closed_at=case(
                        (gb.member_count + 1 >= gb.size, literal(now, UtcDateTime())),
                        else_=None,
                    ),
                )
            ).rowcount
            if taken != 1:
                # Re-read: on PostgreSQL this statement sees what the winners committed.
                latest = _load(conn, group_buy_id)
                return JoinResult(_refusal(latest, now), latest)
            seat = conn.execute(
                select(gb.member_count).where(gb.group_buy_id == group_buy_id)
            ).scalar_one()
            conn.execute(
                t.group_buy_members.insert().values(
                    group_buy_id=group_buy_id, shopper_id=shopper_id, seat=seat, joined_at=now
                )
            )
            joined = _load(conn, group_buy_id)
        assert joined is not None
        status = JoinStatus.FORMED if joined.status == "formed" else JoinStatus.JOINED
        return JoinResult(status, joined)


def _refusal(group_buy: GroupBuy | None, now: datetime) -> JoinStatus:
    if group_buy is None:
        return JoinStatus.UNKNOWN_GROUP_BUY
    if group_buy.status == "formed" or group_buy.seats_left == 0:
        return JoinStatus.FULL
    return JoinStatus.EXPIRED


def _load(conn: Connection, group_buy_id: str) -> GroupBuy | None:
    row = conn.execute(
        select(t.group_buys).where(t.group_buys.c.group_buy_id == group_buy_id)
    ).first()
    if row is None:
        return None
    members = conn.execute(
        select(t.group_buy_members.c.shopper_id)
        .where(t.group_buy_members.c.group_buy_id == group_buy_id)
        .order_by(t.group_buy_members.c.seat)
    ).scalars()
    return _group_buy_from_row(row._mapping, tuple(members.all()))


def _group_buy_from_row(row: Any, members: tuple[str, ...]) -> GroupBuy:
    return GroupBuy(
        group_buy_id=row["group_buy_id"],
        product_id=row["product_id"],
        chat_id=row["chat_id"],
        starter_id=row["starter_id"],
        size=row["size"],
        price=row["price"],
        created_at=row["created_at"],
        deadline=row["deadline"],
        status=row["status"],
        members=members,
        closed_at=row["closed_at"],
    )
