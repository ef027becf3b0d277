"""The ``compliance_log`` table: every reply the guard changed, for staff to review later.

Rows live in the app database (``settings.commerce_url``: SQLite by default, PostgreSQL by URL).
Snippets are stored with personal data masked: the log is for reviewing wording, and must not
become a second copy of shoppers' phone numbers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, create_engine, select
from sqlalchemy.engine import Engine

from assistant.commerce.sql_schema import UtcDateTime
from assistant.compliance.masking import mask_personal_data

MAX_SNIPPET_CHARS = 1000

metadata = MetaData()

compliance_log = Table(
    "compliance_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("conversation_id", String(512), nullable=False),
    # rewrite | block | mask (the strongest thing done to the reply)
    Column("action", String(16), nullable=False),
    Column("rule_ids", Text, nullable=False),  # comma-separated, file order
    Column("categories", String(256), nullable=False),  # comma-separated, distinct
    Column("language", String(8), nullable=False),
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Index("ix_compliance_log_at", "at"),
)


@dataclass(frozen=True)
class ComplianceEvent:
    """One changed reply as staff see it."""

    id: int
    at: datetime
    conversation_id: str
    action: str
    rule_ids: list[str]
    categories: list[str]
    language: str
    before: str
    after: str

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def snippet(text: str, limit: int = MAX_SNIPPET_CHARS) -> str:
    """``text`` masked and cut to ``limit`` characters."""
    masked = mask_personal_data(text)
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


class ComplianceLog:
    """Write and read the review log of guarded replies."""

    def __init__(self, database_url: str, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.engine: Engine = create_engine(database_url, future=True, pool_pre_ping=True)
        self._clock = clock
        self._ready = False
        self._ready_lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    def _ensure_table(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if not self._ready:
                metadata.create_all(self.engine, checkfirst=True)
                self._ready = True

    def record(
        self,
        conversation_id: str,
        action: str,
        rule_ids: list[str],
        categories: list[str],
        language: str,
        before: str,
        after: str,
    ) -> int:
        """Store one changed reply; returns its row id."""
        self._ensure_table()
        with self.engine.begin() as conn:
            result = conn.execute(
                compliance_log.insert().values(
                    at=self._clock(),
                    conversation_id=conversation_id[:512],
                    action=action[:16],
                    rule_ids=",".join(rule_ids),
                    categories=",".join(dict.fromkeys(categories))[:256],
                    language=language[:8],
                    before=snippet(before),
                    after=snippet(after),
                )
            )
            return int(result.inserted_primary_key[0])

    def recent(
        self, limit: int = 50, *, conversation_id: str | None = None
    ) -> list[ComplianceEvent]:
        """The latest changed replies, newest first (optionally of one conversation)."""
        self._ensure_table()
        query = select(compliance_log)
        if conversation_id is not None:
            query = query.where(compliance_log.c.conversation_id == conversation_id)
        query = query.order_by(compliance_log.c.id.desc()).limit(max(0, limit))
        with self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(query)]


def _event(row: Any) -> ComplianceEvent:
    return ComplianceEvent(
        id=int(row.id),
        at=row.at,
        conversation_id=row.conversation_id,
        action=row.action,
        rule_ids=[r for r in row.rule_ids.split(",") if r],
        categories=[c for c in row.categories.split(",") if c],
        language=row.language,
        before=row.before,
        after=row.after,
    )
