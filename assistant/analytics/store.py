"""The analytics event store: one row per addressed shopper message, recommendation and click.

Rows live in the commerce database (``settings.commerce_url``: SQLite by default, PostgreSQL by
URL) in ``analytics_events`` and ``analytics_links``. Each event has a key, so recording the same
message twice (a restart answers kept messages again) counts it once. The local ``day`` of every
event is stored with it, so reports group by day in SQL on any database.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, select, update

from assistant.analytics.questions import cluster_key, shown_text
from assistant.commerce.sql_engine import SqlDatabase, insert_if_absent
from assistant.commerce.sql_schema import UtcDateTime
from assistant.messages import IncomingMessage, OutgoingReply, chat_of, person_of

DEFAULT_TIMEZONE = "Asia/Shanghai"
# Outcomes of a shopper message: answered; answered "I don't know" (known=False on a reply, as
# action_fallback and action_answer_product mark it); or not answered at all (Rasa down).
OUTCOMES: tuple[str, ...] = ("answered", "unanswered", "failed")

metadata = MetaData()

events = Table(
    "analytics_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # "m:<platform>:<message id>", "r:<platform>:<message id>:<product>", "c:<random>".
    Column("event_key", String(400), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # message | recommendation | click
    Column("at", UtcDateTime, nullable=False),
    Column("day", String(10), nullable=False),  # local date, ISO
    Column("platform", String(32), nullable=False),
    Column("group_key", String(300), nullable=False),  # "<platform>:<chat id>"
    Column("person", String(300), nullable=False),  # "<platform>:<user id>", across groups
    Column("conversation_id", String(512), nullable=False),
    Column("question_key", String(32)),
    Column("question", Text),
    Column("intent", String(128)),
    Column("outcome", String(16)),
    Column("product_id", String(128)),
    Column("token", String(32)),
)
Index("ix_analytics_events_day", events.c.kind, events.c.day, events.c.group_key)

links = Table(
    "analytics_links",
    metadata,
    Column("token", String(32), primary_key=True),
    Column("product_id", String(128), nullable=False),
    Column("kb", String(128), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("group_key", String(300), nullable=False),
    Column("person", String(300), nullable=False),
    Column("conversation_id", String(512), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("clicks", Integer, nullable=False, default=0),
    Column("first_clicked_at", UtcDateTime),
)


@dataclass(frozen=True)
class Link:
    """A tracked link to one recommended product, made for one conversation."""

    token: str
    product_id: str
    kb: str
    conversation_id: str
    clicks: int


def split_conversation(conversation_id: str) -> tuple[str, str, str]:
    """``"platform:chat:user"`` -> (platform, group key, person). Chat ids may hold colons,
    user ids rarely do, so the user is the last part."""
    return conversation_id.partition(":")[0], chat_of(conversation_id), person_of(conversation_id)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class AnalyticsStore:
    """Record shopper traffic and read it back, per local day (``tz``, China time by default)."""

    def __init__(
        self,
        database_url: str,
        *,
        tz: str = DEFAULT_TIMEZONE,
        schema: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.db = SqlDatabase(database_url, [metadata], schema=schema)
        self.url = database_url
        self.schema = schema
        self.zone = ZoneInfo(tz)
        self._clock = clock

    def close(self) -> None:
        self.db.close()

    def day_of(self, moment: datetime) -> date:
        """The local calendar day of ``moment`` (naive times are UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(self.zone).date()

    def today(self) -> date:
        return self.day_of(self._clock())

    # ------------------------------------------------------------------ recording
    def record_turn(
        self,
        message: IncomingMessage,
        question: str,
        replies: Iterable[OutgoingReply],
        answered: bool,
    ) -> None:
        """One addressed shopper message and what the assistant did with it.

        ``question`` is the text with mentions removed; ``answered`` is False when Rasa could
        not be reached. Products listed in a reply's ``custom["recommended"]`` count as
        recommended; a reply with ``custom["known"] is False`` makes the message unanswered.
        """
        replies = list(replies)
        customs = [r.custom for r in replies if isinstance(r.custom, dict)]
        if not answered:
            outcome = "failed"
        elif any(c.get("known") is False for c in customs):
            outcome = "unanswered"
        else:
            outcome = "answered"
        intent = next((str(c["intent"]) for c in customs if c.get("intent")), None)
        recommended: list[str] = []
        for custom in customs:
            ids = custom.get("recommended")
            if isinstance(ids, list | tuple):
                recommended += [str(i) for i in ids if i and str(i) not in recommended]
        at = message.received_at
        base = {
            "at": at,
            "day": self.day_of(at).isoformat(),
            "platform": message.platform,
            "group_key": f"{message.platform}:{message.chat_id}"[:300],
            "person": f"{message.platform}:{message.sender_id}"[:300],
            "conversation_id": message.conversation_id[:512],
        }
        key = f"{message.platform}:{message.message_id}"
        rows = [
            {
                **base,
                "event_key": f"m:{key}"[:400],
                "kind": "message",
                "question_key": cluster_key(question),
                "question": shown_text(question) or None,
                "intent": intent[:128] if intent else None,
                "outcome": outcome,
            }
        ]
        rows += [
            {
                **base,
                "event_key": f"r:{key}:{product}"[:400],
                "kind": "recommendation",
                "product_id": product[:128],
            }
            for product in recommended
        ]
        with self.db.write() as conn:
            for row in rows:
                insert_if_absent(conn, events, row)

    # ------------------------------------------------------------------ links and clicks
    def make_link(self, conversation_id: str, product_id: str, kb: str = "default") -> str:
        """A new short token for ``product_id`` recommended in this conversation."""
        platform, group_key, person = split_conversation(conversation_id)
        token = secrets.token_urlsafe(6)  # 8 characters, 48 bits: not guessable in practice
        with self.db.write() as conn:
            conn.execute(
                links.insert().values(
                    token=token,
                    product_id=product_id[:128],
                    kb=kb[:128],
                    platform=platform[:32],
                    group_key=group_key[:300],
                    person=person[:300],
                    conversation_id=conversation_id[:512],
                    created_at=self._clock(),
                    clicks=0,
                )
            )
        return token

    def link(self, token: str) -> Link | None:
        with self.db.read() as conn:
            row = conn.execute(select(links).where(links.c.token == token[:32])).first()
        return None if row is None else _link(row)

    def record_click(self, token: str) -> Link | None:
        """Count a shopper opening ``token``'s link; None (nothing counted) if it is unknown."""
        found = self.link(token)
        if found is None:
            return None
        now = self._clock()
        with self.db.write() as conn:
            row = conn.execute(select(links).where(links.c.token == found.token)).first()
            conn.execute(
                update(links)
                .where(links.c.token == found.token)
                .values(
                    clicks=links.c.clicks + 1,
                    first_clicked_at=row.first_clicked_at or now,
                )
            )
            insert_if_absent(
                conn,
                events,
                {
                    "event_key": f"c:{secrets.token_hex(12)}",
                    "kind": "click",
                    "at": now,
                    "day": self.day_of(now).isoformat(),
                    "platform": row.platform,
                    "group_key": row.group_key,
                    "person": row.person,
                    "conversation_id": row.conversation_id,
                    "product_id": row.product_id,
                    "token": row.token,
                },
            )
        return Link(
            found.token, found.product_id, found.kb, found.conversation_id, found.clicks + 1
        )

    def groups(self) -> list[str]:
        """Every group that has sent an addressed message, for the console's group filter."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(events.c.group_key).distinct().order_by(events.c.group_key)
            ).all()
        return [r.group_key for r in rows]

    # ------------------------------------------------------------------ personal data
    name = "analytics"

    def export_person(self, person_id: str) -> list[dict[str, Any]]:
        """The person's recorded turns (what they asked, when, where) for "导出我的数据"."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(events.c.at, events.c.group_key, events.c.kind, events.c.question)
                .where(events.c.person == person_id)
                .order_by(events.c.id)
            ).all()
        return [
            {"at": r.at.isoformat(), "group": r.group_key, "kind": r.kind, "question": r.question}
            for r in rows
        ]

    def delete_person(self, person_id: str) -> int:
        """Forget who asked and what: the counts staff see stay, the person and text do not."""
        erased = "erased:" + hashlib.sha256(person_id.encode()).hexdigest()[:16]
        with self.db.write() as conn:
            result = conn.execute(
                update(events)
                .where(events.c.person == person_id)
                .values(person=erased, conversation_id=erased, question=None, question_key=None)
            )
        return int(result.rowcount or 0)


def _link(row: Any) -> Link:
    return Link(row.token, row.product_id, row.kb, row.conversation_id, int(row.clicks))


_OPEN: dict[tuple[str, str], AnalyticsStore] = {}
_OPEN_LOCK = threading.Lock()


def open_store(database_url: str, tz: str = DEFAULT_TIMEZONE) -> AnalyticsStore:
    """The process's one store for this database (the app, the admin API and actions share it)."""
    with _OPEN_LOCK:
        store = _OPEN.get((database_url, tz))
        if store is None:
            store = _OPEN[(database_url, tz)] = AnalyticsStore(database_url, tz=tz)
        return store
