"""A shopper's rights over their data (PIPL): see all of it (export) and have it erased (delete).

A person is ``platform:user_id`` (see :mod:`assistant.profiles.identity`); their data is spread
over the stores of the conversations they had in each group of that platform. Orders are the
brand's business records (tax, after-sales) and are neither exported here nor deleted; the
compliance review log keeps masked wording of the assistant's own replies and is exported only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Table, delete, select, update

from assistant.commerce import sql_schema as commerce
from assistant.commerce.sql_engine import SqlDatabase
from assistant.compliance.store import compliance_log
from assistant.compliance.store import metadata as compliance_metadata
from assistant.connectors.delivery import undelivered_table
from assistant.feedback.unanswered import metadata as unanswered_metadata
from assistant.feedback.unanswered import unanswered
from assistant.groupchat.inbox import chat_tables, inbox_table
from assistant.profiles.identity import conversations_of, split_person
from assistant.profiles.store import ProfileStore, audit_table, profiles_table
from assistant.profiles.store import metadata as profiles_metadata
from assistant.profiles.trackers import TrackerEraser

log = logging.getLogger("assistant.profiles.privacy")

KEPT_NOTE = (
    "Orders are the brand's business records and are kept; they are not part of this export. "
    "The compliance review entries hold the assistant's replies with personal data masked."
)


_INBOX_COLUMNS = [
    inbox_table.c[name]
    for name in ("id", "conversation_id", "received_at", "sender_name", "text", "replies")
]
_HANDOFF_COLUMNS = [
    commerce.handoff_requests.c[name]
    for name in ("id", "conversation_id", "created_at", "reason", "text", "status")
]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class PersonalData(Protocol):
    """Another feature's store of a person's data (after-sales tickets, analytics, ...): plug it
    in with ``PrivacyService(sources=[...])`` and export and delete cover it too."""

    name: str

    def export_person(self, person_id: str) -> list[dict[str, Any]]:
        """The person's rows as JSON-ready dicts."""
        ...

    def delete_person(self, person_id: str) -> int:
        """Delete the person's rows; how many went."""
        ...


@dataclass(frozen=True)
class DeletionReport:
    """What one deletion removed, by kind; the audit row keeps the same counts."""

    person_id: str
    requested_by: str
    at: datetime
    counts: dict[str, int]
    # Conversations whose Rasa history could not be erased (Rasa down): staff finish them.
    erase_failed: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "requested_by": self.requested_by,
            "at": self.at.isoformat(),
            "counts": dict(self.counts),
            "erase_failed": list(self.erase_failed),
        }


class PrivacyService:
    """Export and delete everything kept about one person, with an audit of each deletion.

    ``eraser`` clears Rasa's history of each conversation (None: the dialogue history is left
    to the operator, e.g. in tests without Rasa). ``exports_dir`` receives export files.
    """

    def __init__(
        self,
        url: str,
        profiles: ProfileStore,
        *,
        schema: str | None = None,
        eraser: TrackerEraser | None = None,
        exports_dir: Path | None = None,
        sources: Sequence[PersonalData] = (),
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.database = SqlDatabase(
            url,
            [
                chat_tables,
                commerce.metadata,
                unanswered_metadata,
                compliance_metadata,
                profiles_metadata,
            ],
            schema=schema,
        )
        self.profiles = profiles
        self.eraser = eraser
        self.exports_dir = exports_dir
        self.sources = tuple(sources)
        self._clock = clock
        # Erasures of the conversation a deletion was asked in run after its turn: kept here so
        # they are not garbage-collected half-way, and so tests and shutdown can wait for them.
        self._later: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        self.database.close()

    # ------------------------------------------------------------------ export
    def export(self, person_id: str) -> dict[str, Any]:
        """Everything kept about ``person_id``, as plain JSON-ready data."""
        platform, user = split_person(person_id)
        stored = self.profiles.get(person_id)
        with self.database.read() as conn:
            messages = [
                {
                    "conversation_id": row.conversation_id,
                    "received_at": _iso(row.received_at),
                    "sender_name": row.sender_name,
                    "text": row.text,
                    "replies": json.loads(row.replies) if row.replies else [],
                }
                for row in _rows(conn, inbox_table, person_id, _INBOX_COLUMNS)
            ]
            undelivered = [
                {
                    "chat_id": row.chat_id,
                    "failed_at": _iso(row.failed_at),
                    "private": row.private,
                    "text": row.text,
                }
                for row in conn.execute(
                    select(undelivered_table)
                    .where(undelivered_table.c.platform == platform)
                    .where(undelivered_table.c.to_user == user)
                    .order_by(undelivered_table.c.id)
                )
            ]
            questions = [
                {
                    "question": row.text,
                    "conversation_id": row.conversation_id,
                    "first_asked_at": _iso(row.first_asked_at),
                    "last_asked_at": _iso(row.last_asked_at),
                    "status": row.status,
                }
                for row in _rows(conn, unanswered, person_id, unanswered.c)
            ]
            reviews = [
                {
                    "conversation_id": row.conversation_id,
                    "at": _iso(row.at),
                    "action": row.action,
                    "categories": [c for c in row.categories.split(",") if c],
                    "before": row.before,
                    "after": row.after,
                }
                for row in _rows(conn, compliance_log, person_id, compliance_log.c)
            ]
            handoffs = [
                {
                    "id": row.id,
                    "conversation_id": row.conversation_id,
                    "created_at": _iso(row.created_at),
                    "reason": row.reason,
                    "text": row.text,
                    "status": row.status,
                }
                for row in _rows(conn, commerce.handoff_requests, person_id, _HANDOFF_COLUMNS)
            ]
        conversations = sorted(
            {m["conversation_id"] for m in messages}
            | {h["conversation_id"] for h in handoffs}
            | {q["conversation_id"] for q in questions}
        )
        return {
            "person_id": person_id,
            "exported_at": self._clock().isoformat(),
            "profile": None if stored is None else stored.profile.as_dict(),
            "consent": None if stored is None else stored.consent.as_dict(),
            "conversations": conversations,
            "messages": messages,
            "undelivered_replies": undelivered,
            "unanswered_questions": questions,
            "compliance_reviews": reviews,
            "handoffs": handoffs,
            **{source.name: source.export_person(person_id) for source in self.sources},
            "not_included": KEPT_NOTE,
        }

    def write_export(self, person_id: str) -> tuple[dict[str, Any], Path]:
        """:meth:`export` written as a JSON file readable by the app's user only."""
        if self.exports_dir is None:
            raise RuntimeError("PrivacyService has no exports_dir to write to")
        data = self.export(person_id)
        self.exports_dir.mkdir(parents=True, exist_ok=True)
        # The file name must not leak the id to whoever lists the folder.
        digest = hashlib.sha256(person_id.encode("utf-8")).hexdigest()[:12]
        stamp = self._clock().strftime("%Y%m%dT%H%M%S%fZ")
        path = self.exports_dir / f"export-{split_person(person_id)[0]}-{digest}-{stamp}.json"
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        path.chmod(0o600)
        return data, path

    # ------------------------------------------------------------------ delete
    def conversations(self, person_id: str) -> list[str]:
        """Every conversation of ``person_id`` any store knows of."""
        found: set[str] = set()
        with self.database.read() as conn:
            for table in (inbox_table, commerce.handoff_requests, unanswered, compliance_log):
                column = table.c.conversation_id
                found.update(
                    conn.execute(
                        select(column).distinct().where(conversations_of(column, person_id))
                    ).scalars()
                )
        return sorted(c for c in found if c)

    async def delete(
        self, person_id: str, requested_by: str, *, current_conversation: str | None = None
    ) -> DeletionReport:
        """Delete the person's profile and history, then their Rasa conversations.

        ``current_conversation`` is the one the request came in: Rasa is still in its turn, so
        it is erased in the background once Rasa lets go of it (see ``trackers``).
        """
        conversations = await asyncio.to_thread(self.conversations, person_id)
        if current_conversation and current_conversation not in conversations:
            conversations.append(current_conversation)
        now = self._clock()
        counts, audit_id = await asyncio.to_thread(
            self._delete_rows, person_id, requested_by, now, len(conversations)
        )
        for source in self.sources:
            counts[source.name] = await asyncio.to_thread(source.delete_person, person_id)
        failed: list[str] = []
        if self.eraser is not None:
            others = [c for c in conversations if c != current_conversation]
            results = await asyncio.gather(
                *(self.eraser.erase(c) for c in others), return_exceptions=True
            )
            for conversation, result in zip(others, results, strict=True):
                if isinstance(result, BaseException):
                    log.error("could not erase a Rasa conversation: %s", result)
                    failed.append(conversation)
            if current_conversation:
                self._erase_later(current_conversation)
            if failed:
                counts["conversations_failed"] = len(failed)
        if failed or self.sources:
            await asyncio.to_thread(self._update_audit, audit_id, counts)
        return DeletionReport(person_id, requested_by, now, counts, tuple(failed))

    def _delete_rows(
        self, person_id: str, requested_by: str, now: datetime, conversations: int
    ) -> tuple[dict[str, int], int]:
        """One transaction: every row of the person goes, and the audit row comes, or neither."""
        platform, user = split_person(person_id)
        with self.database.write() as conn:
            counts = {
                "profile": conn.execute(
                    delete(profiles_table).where(profiles_table.c.person_id == person_id)
                ).rowcount,
                "messages": _delete(conn, inbox_table, person_id),
                "undelivered_replies": conn.execute(
                    delete(undelivered_table)
                    .where(undelivered_table.c.platform == platform)
                    .where(undelivered_table.c.to_user == user)
                ).rowcount,
                "handoffs": _delete(conn, commerce.handoff_requests, person_id),
                "unanswered_questions": _delete(
                    conn, unanswered, person_id, unanswered.c.count <= 1
                ),
                # Asked by others as well: the question stays for staff, without this person.
                "unanswered_unlinked": conn.execute(
                    update(unanswered)
                    .where(conversations_of(unanswered.c.conversation_id, person_id))
                    .values(conversation_id="", count=unanswered.c.count - 1)
                ).rowcount,
                "conversations": conversations,
            }
            audit_id = conn.execute(
                audit_table.insert().values(
                    at=now,
                    action="delete",
                    person_id=person_id,
                    requested_by=requested_by[:512],
                    counts=json.dumps(counts),
                )
            ).inserted_primary_key[0]
        return counts, int(audit_id)

    def _update_audit(self, audit_id: int, counts: dict[str, int]) -> None:
        with self.database.write() as conn:
            conn.execute(
                audit_table.update()
                .where(audit_table.c.id == audit_id)
                .values(counts=json.dumps(counts))
            )

    def _erase_later(self, conversation_id: str) -> None:
        assert self.eraser is not None
        eraser = self.eraser

        async def erase() -> None:
            try:
                await eraser.erase(conversation_id)
            except Exception as problem:  # noqa: BLE001 - a background task: log, never lose it
                log.error("could not erase the requesting conversation from Rasa: %s", problem)

        task = asyncio.get_running_loop().create_task(erase())
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def settled(self) -> None:
        """Wait for background erasures (tests, and the app before it stops)."""
        while self._later:
            await asyncio.gather(*list(self._later), return_exceptions=True)


def _rows(conn: Connection, table: Table, person_id: str, columns: Any) -> Any:
    """The person's rows of ``table``, oldest first; named ``columns`` only where other
    features add columns in place later (an older table may not have them yet)."""
    where = conversations_of(table.c.conversation_id, person_id)
    return conn.execute(select(*columns).where(where).order_by(table.c.id))


def _delete(conn: Connection, table: Table, person_id: str, *extra: Any) -> int:
    where = conversations_of(table.c.conversation_id, person_id)
    for condition in extra:
        where = where & condition
    return int(conn.execute(delete(table).where(where)).rowcount)


def _iso(value: datetime | None) -> str | None:
    """ISO time in UTC; SQLite hands back naive UTC datetimes."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
