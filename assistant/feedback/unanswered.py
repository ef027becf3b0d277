"""Shopper questions the knowledge base could not answer: the console's inbox of gaps to fill.

A Rasa action calls :meth:`UnansweredLog.record` when its best knowledge hit scored too low or
the dialogue fell back. The same question asked again (compared after normalising case, width,
spaces and punctuation) bumps a counter on its row instead of adding another, so staff see
what is asked most. Staff then turn a question into an FAQ (:meth:`resolve`) or dismiss it.

Rows live in the commerce database (``settings.commerce_url``: SQLite by default, PostgreSQL by
URL) in their own table, ``kb_unanswered``.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    create_engine,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateSchema

from assistant.commerce.sql_schema import UtcDateTime

Reason = Literal["low_score", "fallback"]
Status = Literal["open", "resolved", "dismissed"]
REASONS: tuple[str, ...] = ("low_score", "fallback")
STATUSES: tuple[str, ...] = ("open", "resolved", "dismissed")

MAX_TEXT_CHARS = 2000

metadata = MetaData()

unanswered = Table(
    "kb_unanswered",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kb", String(128), nullable=False),
    # sha256 of the normalised text: the "same question" key, short enough for any index.
    Column("question_key", String(64), nullable=False),
    Column("text", Text, nullable=False),  # the wording first asked, mention removed
    Column("lang", String(8), nullable=False),
    Column("reason", String(16), nullable=False),  # of the latest asking
    Column("best_score", Float, nullable=True),
    Column("best_id", String(128), nullable=True),
    Column("count", Integer, nullable=False, default=1),
    Column("conversation_id", String(512), nullable=False),  # of the latest asking
    Column("first_asked_at", UtcDateTime, nullable=False),
    Column("last_asked_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    Column("faq_id", String(128), nullable=True),
    Column("closed_by", String(128), nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    UniqueConstraint("kb", "question_key", name="uq_kb_unanswered_kb_key"),
    Index("ix_kb_unanswered_kb_status", "kb", "status"),
)


class UnknownQuestion(LookupError):
    """No unanswered question has that id."""


@dataclass(frozen=True)
class UnansweredQuestion:
    """One question (all its askings) as staff see it in the console."""

    id: int
    kb: str
    text: str
    lang: str
    reason: str
    best_score: float | None
    best_id: str | None
    count: int
    conversation_id: str
    first_asked_at: datetime
    last_asked_at: datetime
    status: str
    faq_id: str | None
    closed_by: str | None
    closed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("first_asked_at", "last_asked_at", "closed_at"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data


# A leading "@澜屿小助手 " addresses the assistant; it is not part of the question.
_LEADING_MENTIONS = re.compile(r"^(?:[@＠]\S+\s+)+")
_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """The question as staff should read it: leading mentions removed, spaces collapsed."""
    stripped = _SPACES.sub(" ", text).strip()
    without = _LEADING_MENTIONS.sub("", stripped).strip()
    return (without or stripped)[:MAX_TEXT_CHARS]


def normalise(text: str) -> str:
    """What makes two askings "the same question": letters and digits only, width/case folded.

    "孕妇能用吗？" and "孕妇能用吗", or "Ship to Macau?" and "ship to macau" are the same.
    """
    folded = unicodedata.normalize("NFKC", clean_text(text)).casefold()
    kept = "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LNM")
    return kept or folded.strip()


def question_key(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class UnansweredLog:
    """Record, list and close shopper questions nobody answered, per knowledge base."""

    def __init__(
        self,
        database_url: str,
        *,
        schema: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        url = make_url(database_url)
        if schema is not None and url.get_backend_name() != "postgresql":
            raise ValueError("schema is a PostgreSQL option")
        engine = create_engine(database_url, future=True, pool_pre_ping=True)
        if schema is not None:
            engine = engine.execution_options(schema_translate_map={None: schema})
        self.engine: Engine = engine
        self._clock = clock
        self._schema = schema
        self._ready = False
        self._ready_lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    def _ensure_tables(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            with self.engine.begin() as conn:
                if self._schema is not None:
                    conn.execute(CreateSchema(self._schema, if_not_exists=True))
                metadata.create_all(conn, checkfirst=True)
            self._ready = True

    # ------------------------------------------------------------------ writing
    def record(
        self,
        kb: str,
        conversation_id: str,
        text: str,
        lang: str,
        reason: Reason | str,
        best_score: float | None = None,
        best_id: str | None = None,
    ) -> int:
        """Note one asking; returns the question's id (the existing one if asked before).

        Asked again after staff resolved it means the answer did not reach the shopper: the
        question opens again. A dismissed question stays dismissed and only counts the asking.
        """
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}, got {reason!r}")
        shown = clean_text(text)
        if not shown:
            raise ValueError("an unanswered question needs its text")
        self._ensure_tables()
        key = question_key(shown)
        now = self._clock()
        score = None if best_score is None else float(best_score)
        latest = {
            "reason": reason,
            "best_score": score,
            "best_id": best_id,
            "conversation_id": conversation_id[:512],
            "last_asked_at": now,
        }
        where = (unanswered.c.kb == kb) & (unanswered.c.question_key == key)
        bump = (
            unanswered.update()
            .where(where)
            .values(
                count=unanswered.c.count + 1,
                status=case((unanswered.c.status == "resolved", "open"), else_=unanswered.c.status),
                **latest,
            )
        )
        for _ in range(3):
            try:
                with self.engine.begin() as conn:
                    if conn.execute(bump).rowcount == 0:
                        conn.execute(
                            unanswered.insert().values(
                                kb=kb,
                                question_key=key,
                                text=shown,
                                lang=lang[:8],
                                count=1,
                                first_asked_at=now,
                                status="open",
                                **latest,
                            )
                        )
                    return int(conn.execute(select(unanswered.c.id).where(where)).scalar_one())
            except IntegrityError:
                continue  # another process inserted the same question first: bump it instead
        raise RuntimeError("could not record the unanswered question")  # pragma: no cover

    def resolve(self, question_id: int, faq_id: str, actor: str) -> UnansweredQuestion:
        """Close the question: ``faq_id`` now answers it."""
        return self._close(question_id, "resolved", actor, faq_id)

    def dismiss(self, question_id: int, actor: str) -> UnansweredQuestion:
        """Close the question without an answer (spam, chit-chat, out of scope)."""
        return self._close(question_id, "dismissed", actor, None)

    def reopen(self, question_id: int, actor: str) -> UnansweredQuestion:
        """Put a closed question back in the inbox."""
        return self._close(question_id, "open", actor, None)

    def _close(
        self, question_id: int, status: str, actor: str, faq_id: str | None
    ) -> UnansweredQuestion:
        self._ensure_tables()
        with self.engine.begin() as conn:
            done = conn.execute(
                unanswered.update()
                .where(unanswered.c.id == question_id)
                .values(status=status, faq_id=faq_id, closed_by=actor, closed_at=self._clock())
            ).rowcount
        if not done:
            raise UnknownQuestion(f"no unanswered question with id {question_id}")
        found = self.get(question_id)
        assert found is not None
        return found

    # ------------------------------------------------------------------ reading
    def get(self, question_id: int) -> UnansweredQuestion | None:
        self._ensure_tables()
        with self.engine.connect() as conn:
            row = conn.execute(select(unanswered).where(unanswered.c.id == question_id)).first()
        return None if row is None else _question(row)

    def list(
        self,
        kb: str | None = None,
        status: Status | str | None = "open",
        limit: int = 100,
        offset: int = 0,
    ) -> list[UnansweredQuestion]:
        """Questions of ``kb`` (None: every knowledge base) with ``status`` (None: any).

        Most asked first, then most recently asked.
        """
        self._ensure_tables()
        query = select(unanswered)
        if kb is not None:
            query = query.where(unanswered.c.kb == kb)
        if status is not None:
            query = query.where(unanswered.c.status == status)
        query = (
            query.order_by(
                unanswered.c.count.desc(), unanswered.c.last_asked_at.desc(), unanswered.c.id
            )
            .limit(max(0, limit))
            .offset(max(0, offset))
        )
        with self.engine.connect() as conn:
            return [_question(row) for row in conn.execute(query)]

    def counts(self, kb: str | None = None) -> dict[str, int]:
        """How many questions are open, resolved and dismissed."""
        self._ensure_tables()
        query = select(unanswered.c.status, func.count()).group_by(unanswered.c.status)
        if kb is not None:
            query = query.where(unanswered.c.kb == kb)
        found = dict.fromkeys(STATUSES, 0)
        with self.engine.connect() as conn:
            for status, number in conn.execute(query):
                found[status] = int(number)
        return found


def _question(row: Any) -> UnansweredQuestion:
    return UnansweredQuestion(
        id=int(row.id),
        kb=row.kb,
        text=row.text,
        lang=row.lang,
        reason=row.reason,
        best_score=row.best_score,
        best_id=row.best_id,
        count=int(row.count),
        conversation_id=row.conversation_id,
        first_asked_at=row.first_asked_at,
        last_asked_at=row.last_asked_at,
        status=row.status,
        faq_id=row.faq_id,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
    )
