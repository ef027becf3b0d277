"""Versioned record history of every knowledge base, in SQL (SQLite by default, PostgreSQL by URL).

SQL is the system of record: which records a knowledge base holds, where each came from, who
changed it and when, and every earlier state for rollback. The vector store is an index derived
from it and is reconciled with it at start-up.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    func,
    select,
)
from sqlalchemy.engine import Connection, Engine

metadata = MetaData()

versions = Table(
    "kb_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kb", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("changes", JSON, nullable=False),  # {"added": [...], "updated": [...], "deleted": [...]}
    Column("note", Text, nullable=False, default=""),
    UniqueConstraint("kb", "version", name="uq_kb_versions_kb_version"),
)

# The current state: one row per record id ever seen; ``data`` is NULL once deleted (a tombstone,
# so a file sync does not bring back a record staff deleted in the console).
current = Table(
    "kb_records",
    metadata,
    Column("kb", String(128), primary_key=True),
    Column("record_id", String(128), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("data", JSON, nullable=True),
    Column("source", String(512), nullable=False),
    # Hash of the record as its file last said it; a file sync only writes when this changes.
    Column("source_hash", String(64), nullable=False, default=""),
    Column("updated_by", String(128), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

history = Table(
    "kb_record_history",
    metadata,
    Column("kb", String(128), primary_key=True),
    Column("record_id", String(128), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("data", JSON, nullable=True),
    Column("source", String(512), nullable=False),
    Column("source_hash", String(64), nullable=False, default=""),
)

sync_status = Table(
    "kb_sync_status",
    metadata,
    Column("kb", String(128), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("summary", Text, nullable=False),
    Column("errors", JSON, nullable=False),
)


@dataclass(frozen=True)
class StoredRecord:
    """A record's row in the current state (``data`` None: deleted)."""

    record_id: str
    data: dict[str, Any] | None
    source: str
    source_hash: str
    version: int
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class RecordChange:
    """One record written (``data``) or deleted (``data`` None) by a version."""

    record_id: str
    data: dict[str, Any] | None
    source: str
    source_hash: str = ""


@dataclass(frozen=True)
class VersionRow:
    version: int
    created_at: datetime
    actor: str
    action: str
    changes: dict[str, list[str]]
    note: str


@dataclass(frozen=True)
class StatusRow:
    at: datetime
    ok: bool
    actor: str
    summary: str
    errors: list[dict[str, Any]]


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class VersionLog:
    """Read and append the versioned history of knowledge bases."""

    def __init__(self, database_url: str) -> None:
        self.engine: Engine = create_engine(database_url, future=True, pool_pre_ping=True)
        metadata.create_all(self.engine)
        # SQLite serialises writers anyway; for PostgreSQL the unique (kb, version) constraint
        # makes two app instances writing the same version fail loudly rather than interleave.
        self._lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ writing
    def commit(
        self,
        kb: str,
        actor: str,
        action: str,
        changes: Sequence[RecordChange],
        summary: dict[str, list[str]],
        note: str = "",
    ) -> int:
        """Append one version holding ``changes``; returns its number."""
        now = datetime.now(timezone.utc)
        with self._lock, self.engine.begin() as conn:
            version = self._latest(conn, kb) + 1
            conn.execute(
                versions.insert().values(
                    kb=kb,
                    version=version,
                    created_at=now,
                    actor=actor,
                    action=action,
                    changes=summary,
                    note=note,
                )
            )
            if changes:
                conn.execute(
                    history.insert(),
                    [
                        {
                            "kb": kb,
                            "record_id": c.record_id,
                            "version": version,
                            "data": c.data,
                            "source": c.source,
                            "source_hash": c.source_hash,
                        }
                        for c in changes
                    ],
                )
                self._write_current(conn, kb, version, actor, now, changes)
        return version

    def _write_current(
        self,
        conn: Connection,
        kb: str,
        version: int,
        actor: str,
        now: datetime,
        changes: Sequence[RecordChange],
    ) -> None:
        ids = [c.record_id for c in changes]
        existing: set[str] = set()
        for chunk in _chunks(ids, 500):
            existing.update(
                conn.execute(
                    select(current.c.record_id).where(
                        and_(current.c.kb == kb, current.c.record_id.in_(chunk))
                    )
                ).scalars()
            )
        rows = [
            {
                "kb": kb,
                "record_id": c.record_id,
                "version": version,
                "data": c.data,
                "source": c.source,
                "source_hash": c.source_hash,
                "updated_by": actor,
                "updated_at": now,
            }
            for c in changes
        ]
        inserts = [r for r in rows if r["record_id"] not in existing]
        if inserts:
            conn.execute(current.insert(), inserts)
        for row in rows:
            if row["record_id"] in existing:
                conn.execute(
                    current.update()
                    .where(and_(current.c.kb == kb, current.c.record_id == row["record_id"]))
                    .values(**{k: v for k, v in row.items() if k not in ("kb", "record_id")})
                )

    def set_status(
        self, kb: str, ok: bool, actor: str, summary: str, errors: list[dict[str, Any]]
    ) -> None:
        values = {
            "at": datetime.now(timezone.utc),
            "ok": ok,
            "actor": actor,
            "summary": summary,
            "errors": errors,
        }
        with self.engine.begin() as conn:
            updated = conn.execute(
                sync_status.update().where(sync_status.c.kb == kb).values(**values)
            ).rowcount
            if not updated:
                conn.execute(sync_status.insert().values(kb=kb, **values))

    # ------------------------------------------------------------------ reading
    def _latest(self, conn: Connection, kb: str) -> int:
        found = conn.execute(
            select(func.max(versions.c.version)).where(versions.c.kb == kb)
        ).scalar()
        return int(found or 0)

    def latest_version(self, kb: str) -> int:
        with self.engine.connect() as conn:
            return self._latest(conn, kb)

    def current(self, kb: str, *, include_deleted: bool = False) -> dict[str, StoredRecord]:
        query = select(current).where(current.c.kb == kb)
        if not include_deleted:
            query = query.where(current.c.data.is_not(None))
        with self.engine.connect() as conn:
            return {
                row.record_id: StoredRecord(
                    record_id=row.record_id,
                    data=_json(row.data),
                    source=row.source,
                    source_hash=row.source_hash,
                    version=row.version,
                    updated_by=row.updated_by,
                    updated_at=_utc(row.updated_at),
                )
                for row in conn.execute(query)
            }

    def get(self, kb: str, record_id: str) -> StoredRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(current).where(and_(current.c.kb == kb, current.c.record_id == record_id))
            ).first()
        if row is None or row.data is None:
            return None
        return StoredRecord(
            record_id=row.record_id,
            data=_json(row.data),
            source=row.source,
            source_hash=row.source_hash,
            version=row.version,
            updated_by=row.updated_by,
            updated_at=_utc(row.updated_at),
        )

    def at_version(self, kb: str, version: int) -> dict[str, RecordChange]:
        """What ``kb`` held right after ``version``: the latest change of each record up to it."""
        last = (
            select(history.c.record_id, func.max(history.c.version).label("version"))
            .where(and_(history.c.kb == kb, history.c.version <= version))
            .group_by(history.c.record_id)
            .subquery()
        )
        query = (
            select(history)
            .join(
                last,
                and_(
                    history.c.record_id == last.c.record_id,
                    history.c.version == last.c.version,
                ),
            )
            .where(history.c.kb == kb)
        )
        with self.engine.connect() as conn:
            return {
                row.record_id: RecordChange(
                    row.record_id, _json(row.data), row.source, row.source_hash
                )
                for row in conn.execute(query)
                if row.data is not None
            }

    def has_version(self, kb: str, version: int) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(versions.c.id).where(
                        and_(versions.c.kb == kb, versions.c.version == version)
                    )
                ).first()
                is not None
            )

    def versions(self, kb: str, limit: int = 50) -> list[VersionRow]:
        query = (
            select(versions)
            .where(versions.c.kb == kb)
            .order_by(versions.c.version.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                VersionRow(
                    version=row.version,
                    created_at=_utc(row.created_at),
                    actor=row.actor,
                    action=row.action,
                    changes=_json(row.changes) or {},
                    note=row.note or "",
                )
                for row in conn.execute(query)
            ]

    def status(self, kb: str) -> StatusRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(sync_status).where(sync_status.c.kb == kb)).first()
        if row is None:
            return None
        return StatusRow(_utc(row.at), bool(row.ok), row.actor, row.summary, _json(row.errors))


def _json(value: Any) -> Any:
    # Some drivers hand JSON columns back as text.
    return json.loads(value) if isinstance(value, str) else value


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
