"""Every knowledge base of the app, with versioned writes, sync from files and rollback.

The :class:`KnowledgeBase` is the search index of one brand; the library owns the rules around it:
which chat sees which knowledge base, who changed what and when (a version per change, kept in
SQL so it can be rolled back), which file a record came from, and the status of the last sync.
Every write path (file sync, watcher, CLI, admin API, console) goes through it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.knowledge.base import KnowledgeBase
from assistant.knowledge.documents import content_hash
from assistant.knowledge.history import RecordChange, StoredRecord, VersionLog
from assistant.knowledge.loader import KnowledgeFileError, Problem, load_sources
from assistant.knowledge.results import Hit, KBStats, SyncReport
from assistant.knowledge.schema import Record, parse_record, record_to_dict

__all__ = [
    "Change",
    "KnowledgeLibrary",
    "RecordInfo",
    "RecordValidationError",
    "SyncStatus",
    "UnknownKnowledgeBase",
    "UnknownVersion",
    "VersionInfo",
]

log = logging.getLogger(__name__)

# Sources of records that did not come from a file.
SOURCE_API = "api"
SOURCE_CONSOLE = "console"


class UnknownKnowledgeBase(KeyError):
    """No knowledge base of that name is configured."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(name)
        self.name = name
        self.message = f"unknown knowledge base {name!r}; configured: {', '.join(known)}"

    def __str__(self) -> str:
        return self.message


class UnknownVersion(LookupError):
    """Rollback to a version the knowledge base never had."""


class RecordValidationError(ValueError):
    """Records given through the API or console are invalid; nothing was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Change:
    """The outcome of one write: the new version (None when nothing changed) and what changed."""

    kb: str
    version: int | None
    action: str
    actor: str
    report: SyncReport

    def as_dict(self) -> dict[str, Any]:
        return {
            "kb": self.kb,
            "version": self.version,
            "action": self.action,
            "actor": self.actor,
            "added": list(self.report.added),
            "updated": list(self.report.updated),
            "deleted": list(self.report.deleted),
            "unchanged": len(self.report.unchanged),
            "embedded": self.report.embedded,
            "seconds": round(self.report.seconds, 3),
        }


@dataclass(frozen=True)
class VersionInfo:
    """One entry of a knowledge base's history."""

    version: int
    created_at: datetime
    actor: str
    action: str  # sync, ingest, upsert, delete, rollback
    added: tuple[str, ...]
    updated: tuple[str, ...]
    deleted: tuple[str, ...]
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "added": list(self.added),
            "updated": list(self.updated),
            "deleted": list(self.deleted),
            "note": self.note,
        }


@dataclass(frozen=True)
class RecordInfo:
    """A record with where it came from and who changed it last."""

    record: Record
    source: str  # "file:<path>", "api" or "console"
    version: int
    updated_by: str
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "record": record_to_dict(self.record),
            "source": self.source,
            "version": self.version,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class SyncStatus:
    """The last file sync of a knowledge base: when, by whom, and the errors if it failed."""

    kb: str
    at: datetime | None
    ok: bool
    actor: str = ""
    summary: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kb": self.kb,
            "at": self.at.isoformat() if self.at else None,
            "ok": self.ok,
            "actor": self.actor,
            "summary": self.summary,
            "errors": self.errors,
        }


def hit_as_dict(hit: Hit) -> dict[str, Any]:
    """A search hit as the API and the CLI show it."""
    return {
        "id": hit.id,
        "kind": hit.kind,
        "title": hit.title,
        "score": round(hit.score, 6),
        "similarity": round(hit.similarity, 4),
        "metadata": hit.metadata,
    }


def stats_as_dict(stats: KBStats, version: int) -> dict[str, Any]:
    return {
        "name": stats.name,
        "records": stats.records,
        "passages": stats.passages,
        "by_kind": stats.by_kind,
        "embedding_model": stats.embedding_model,
        "dimension": stats.dimension,
        "sparse_terms": stats.sparse_terms,
        "version": version,
    }


@dataclass
class _Base:
    """A configured knowledge base: its index, its directory and a lock for its writes."""

    index: KnowledgeBase
    directory: Path | None
    lock: threading.Lock = field(default_factory=threading.Lock)


class KnowledgeLibrary:
    """The configured knowledge bases and the versioned ways of changing them.

    Every write validates first, then updates the search index, then appends a version to the
    SQL log. The log is the system of record: at start-up the index is reconciled with it, so a
    crash between the two steps leaves the knowledge base as it was before that write.
    """

    def __init__(
        self,
        bases: Mapping[str, tuple[KnowledgeBase, Path | None]],
        log: VersionLog,
        *,
        default: str,
        groups: Mapping[str, str] | None = None,
    ) -> None:
        if default not in bases:
            raise ValueError(f"default knowledge base {default!r} is not configured")
        self._bases = {name: _Base(index, directory) for name, (index, directory) in bases.items()}
        self.log = log
        self.default = default
        self.groups = dict(groups or {})
        unknown = sorted(set(self.groups.values()) - set(self._bases))
        if unknown:
            raise ValueError(f"chats are bound to unknown knowledge bases: {unknown}")

    # ------------------------------------------------------------------ lookup
    def names(self) -> list[str]:
        return list(self._bases)

    def _entry(self, kb: str) -> _Base:
        try:
            return self._bases[kb]
        except KeyError:
            raise UnknownKnowledgeBase(kb, list(self._bases)) from None

    def base(self, kb: str) -> KnowledgeBase:
        """The search index of ``kb``; raises :class:`UnknownKnowledgeBase`."""
        return self._entry(kb).index

    def directory(self, kb: str) -> Path | None:
        """The folder of files synced into ``kb`` (None: API and console only)."""
        return self._entry(kb).directory

    def kb_for_conversation(self, sender_id: str) -> str:
        """The knowledge base a conversation ``platform:chat:user`` is bound to.

        A binding names a chat (``"wecom:group-1"``) or every chat of a platform (``"wecom:*"``);
        anything unbound sees the default knowledge base.
        """
        parts = sender_id.split(":")
        if len(parts) >= 3:
            platform, chat = parts[0], ":".join(parts[1:-1])
            for key in (f"{platform}:{chat}", f"{platform}:*"):
                if key in self.groups:
                    return self.groups[key]
        return self.default

    def base_for_conversation(self, sender_id: str) -> KnowledgeBase:
        return self.base(self.kb_for_conversation(sender_id))

    # ------------------------------------------------------------------ start-up
    def start(self, actor: str = "startup", *, sync_files: bool = True) -> None:
        """Reconcile every index with the log, then sync each knowledge directory.

        A bad file does not stop the app: the knowledge base keeps its last good state and the
        errors are kept for the console (:meth:`status`).
        """
        for name, entry in self._bases.items():
            self._reconcile(name, entry)
            if sync_files and entry.directory is not None:
                try:
                    self.sync_directory(name, actor)
                except KnowledgeFileError as problem:
                    log.warning("knowledge base %s: files not synced: %s", name, problem)

    def _reconcile(self, name: str, entry: _Base) -> None:
        with entry.lock:
            if self.log.latest_version(name) == 0:
                adopted = entry.index.records()
                if adopted:
                    # An index written before versioning: adopt it as version 1, nothing lost.
                    self._commit_locked(
                        name,
                        "startup",
                        "import",
                        [RecordChange(r.id, record_to_dict(r), SOURCE_API, "") for r in adopted],
                        SyncReport(added=tuple(r.id for r in adopted)),
                        "records found in the index before versioning",
                    )
                return
            stored = self.log.current(name)
            records = [parse_record(s.data) for s in stored.values() if s.data is not None]
            report = entry.index.sync(records)
            if report.changed:
                log.info("knowledge base %s: index reconciled: %s", name, report.summary())

    # ------------------------------------------------------------------ writing
    def sync_directory(self, kb: str, actor: str = "file-sync") -> Change:
        """Make the records that came from ``kb``'s directory match its files.

        Records are written only where the file's version changed since the last sync, so an
        edit made in the console survives until the file itself changes that record. Records
        gone from the files are deleted; records added through the API or console stay.
        """
        entry = self._entry(kb)
        if entry.directory is None:
            raise ValueError(f"knowledge base {kb!r} has no directory to sync")
        try:
            sources = load_sources(entry.directory)
        except KnowledgeFileError as problem:
            self.log.set_status(
                kb,
                False,
                actor,
                f"{len(problem.problems)} problem(s); nothing changed",
                [_problem_dict(p) for p in problem.problems],
            )
            raise
        files = {self._source_label(entry, s.path): s.records for s in sources}
        change = self._write_sources(kb, files, actor, "sync", scope=_in_directory)
        self.log.set_status(kb, True, actor, change.report.summary(), [])
        return change

    def ingest(
        self, kb: str, paths: Iterable[str | Path], actor: str, source: str | None = None
    ) -> Change:
        """Add or replace records from files; records gone from those same files are deleted.

        ``source`` names where the files came from when their paths mean nothing later (an
        upload's temporary file); it applies to every file given.
        """
        entry = self._entry(kb)
        sources = load_sources([Path(p) for p in paths])
        files: dict[str, list[Record]] = {}
        for item in sources:
            files.setdefault(source or self._source_label(entry, item.path), []).extend(
                item.records
            )
        given = set(files)
        return self._write_sources(kb, files, actor, "ingest", scope=lambda s: s in given)

    def upsert(
        self, kb: str, records: Iterable[Mapping[str, Any]], actor: str, source: str = SOURCE_API
    ) -> Change:
        """Validate and write records given as dicts (each with its ``kind``).

        A record without an ``id`` gets a new one. Nothing is written if any record is invalid.
        """
        entry = self._entry(kb)
        parsed = parse_records(records)
        with entry.lock:
            stored = self.log.current(kb, include_deleted=True)
            report = entry.index.upsert(parsed)
            written = set(report.added) | set(report.updated)
            changes = [
                RecordChange(
                    r.id,
                    record_to_dict(r),
                    source,
                    stored[r.id].source_hash if r.id in stored else "",
                )
                for r in parsed
                if r.id in written
            ]
            return self._commit_locked(kb, actor, "upsert", changes, report)

    def delete(self, kb: str, ids: Iterable[str], actor: str) -> Change:
        """Delete records by id; ids the knowledge base does not hold are ignored."""
        entry = self._entry(kb)
        with entry.lock:
            stored = self.log.current(kb)
            report = entry.index.delete(list(ids))
            changes = _tombstones(stored, [rid for rid in report.deleted if rid in stored])
            return self._commit_locked(kb, actor, "delete", changes, report)

    def rollback(self, kb: str, version: int, actor: str) -> Change:
        """Make ``kb`` hold exactly what it held right after ``version``, as a new version."""
        entry = self._entry(kb)
        if not self.log.has_version(kb, version):
            raise UnknownVersion(f"knowledge base {kb!r} has no version {version}")
        with entry.lock:
            target = self.log.at_version(kb, version)
            stored = self.log.current(kb)
            gone = [rid for rid in stored if rid not in target]
            back = [
                c for rid, c in target.items() if rid not in stored or stored[rid].data != c.data
            ]
            records = [parse_record(c.data) for c in back if c.data is not None]
            written = entry.index.upsert(records)
            removed = entry.index.delete(gone)
            changes = [*back, *_tombstones(stored, removed.deleted)]
            report = _combined(written, removed, written.unchanged)
            return self._commit_locked(kb, actor, "rollback", changes, report, f"to {version}")

    def _write_sources(
        self,
        kb: str,
        files: Mapping[str, Sequence[Record]],
        actor: str,
        action: str,
        scope: Callable[[str], bool],
    ) -> Change:
        """Write file records that changed since their file last said them; delete vanished ones.

        ``scope`` tells which stored sources these files stand for: a record from a source in
        scope that no file holds any more is deleted.
        """
        entry = self._entry(kb)
        wanted: dict[str, tuple[Record, str, str]] = {}
        for label, records in files.items():
            for record in records:
                wanted[record.id] = (record, label, content_hash(record))
        with entry.lock:
            stored = self.log.current(kb, include_deleted=True)
            to_write = [
                (record, label, digest)
                for rid, (record, label, digest) in wanted.items()
                if rid not in stored
                or stored[rid].source_hash != digest
                or (stored[rid].source != label and stored[rid].source.startswith("file:"))
            ]
            gone = [
                rid
                for rid, s in stored.items()
                if s.data is not None and scope(s.source) and rid not in wanted
            ]
            written = entry.index.upsert(r for r, _, _ in to_write)
            removed = entry.index.delete(gone)
            changed = set(written.added) | set(written.updated)
            changes = [
                RecordChange(r.id, record_to_dict(r), label, digest)
                for r, label, digest in to_write
                if r.id in changed
            ]
            # A file that now says the same as the index (e.g. after a console edit was copied
            # into it) still updates the remembered hash, so the next sync has nothing to do.
            adopted = [
                RecordChange(r.id, record_to_dict(r), label, digest)
                for r, label, digest in to_write
                if r.id not in changed
            ]
            changes += _tombstones(stored, removed.deleted)
            report = _combined(written, removed, tuple(sorted(set(wanted) - changed)))
            if adopted and not changes:
                self.log.commit(kb, actor, action, adopted, _summary(report), "hashes only")
                return Change(kb, None, action, actor, report)
            return self._commit_locked(kb, actor, action, changes + adopted, report)

    def _commit_locked(
        self,
        kb: str,
        actor: str,
        action: str,
        changes: Sequence[RecordChange],
        report: SyncReport,
        note: str = "",
    ) -> Change:
        if not report.changed:
            return Change(kb, None, action, actor, report)
        try:
            version = self.log.commit(kb, actor, action, changes, _summary(report), note)
        except Exception:
            # The log is the truth: put the index back to what the log says, then fail.
            log.exception("knowledge base %s: version not recorded; restoring the index", kb)
            entry = self._entry(kb)
            stored = self.log.current(kb)
            entry.index.sync(parse_record(s.data) for s in stored.values() if s.data)
            raise
        log.info("knowledge base %s: version %d by %s (%s)", kb, version, actor, action)
        return Change(kb, version, action, actor, report)

    @staticmethod
    def _source_label(entry: _Base, path: Path) -> str:
        path = path.resolve()
        if entry.directory is not None and path.is_relative_to(entry.directory):
            return f"{FILE_PREFIX}{path.relative_to(entry.directory).as_posix()}"
        return f"{FILE_PREFIX}{path}"

    # ------------------------------------------------------------------ reading
    def history(self, kb: str, limit: int = 50) -> list[VersionInfo]:
        self._entry(kb)
        return [
            VersionInfo(
                version=v.version,
                created_at=v.created_at,
                actor=v.actor,
                action=v.action,
                added=tuple(v.changes.get("added", ())),
                updated=tuple(v.changes.get("updated", ())),
                deleted=tuple(v.changes.get("deleted", ())),
                note=v.note,
            )
            for v in self.log.versions(kb, limit)
        ]

    def records(self, kb: str, kind: str | None = None) -> list[RecordInfo]:
        index = self.base(kb)
        stored = self.log.current(kb)
        infos = []
        for record in index.records(kind):
            row = stored.get(record.id)
            infos.append(_info(record, row))
        return sorted(infos, key=lambda i: i.record.id)

    def get(self, kb: str, record_id: str) -> RecordInfo | None:
        record = self.base(kb).get(record_id)
        if record is None:
            return None
        return _info(record, self.log.get(kb, record_id))

    def status(self, kb: str) -> SyncStatus:
        self._entry(kb)
        row = self.log.status(kb)
        if row is None:
            return SyncStatus(kb=kb, at=None, ok=True)
        return SyncStatus(kb, row.at, row.ok, row.actor, row.summary, list(row.errors))

    def stats(self, kb: str) -> dict[str, Any]:
        """Counts of ``kb`` and its latest version, as a plain dict."""
        return stats_as_dict(self.base(kb).stats(), self.log.latest_version(kb))

    def search(
        self,
        kb: str,
        query: str,
        k: int = 5,
        filters: Mapping[str, Any] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> list[Hit]:
        return self.base(kb).search(query, k, filters, kinds)


FILE_PREFIX = "file:"


def _in_directory(source: str) -> bool:
    """Sources of a directory sync: files named relative to it (absolute ones were ingested)."""
    return source.startswith(FILE_PREFIX) and not source[len(FILE_PREFIX) :].startswith("/")


def _tombstones(stored: Mapping[str, StoredRecord], ids: Iterable[str]) -> list[RecordChange]:
    """Deletions for the log, remembering each record's source and file hash."""
    return [RecordChange(rid, None, stored[rid].source, stored[rid].source_hash) for rid in ids]


def _combined(written: SyncReport, removed: SyncReport, unchanged: tuple[str, ...]) -> SyncReport:
    """One report for an upsert followed by a delete."""
    return SyncReport(
        added=written.added,
        updated=written.updated,
        deleted=removed.deleted,
        unchanged=unchanged,
        embedded=written.embedded,
        seconds=written.seconds + removed.seconds,
    )


def _info(record: Record, row: StoredRecord | None) -> RecordInfo:
    if row is None:
        return RecordInfo(record, SOURCE_API, 0, "", datetime.fromtimestamp(0, timezone.utc))
    return RecordInfo(record, row.source, row.version, row.updated_by, row.updated_at)


def _summary(report: SyncReport) -> dict[str, list[str]]:
    return {
        "added": list(report.added),
        "updated": list(report.updated),
        "deleted": list(report.deleted),
    }


def _problem_dict(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "record_id": problem.record_id,
        "field": problem.field,
        "message": problem.message,
        "text": str(problem),
    }


_ID_PREFIX = {"product": "P", "faq": "FAQ", "policy": "POL", "promotion": "PROMO"}


def parse_records(records: Iterable[Mapping[str, Any]]) -> list[Record]:
    """Validate records given as dicts; raise :class:`RecordValidationError` with every problem."""
    parsed: list[Record] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, raw in enumerate(records):
        if not isinstance(raw, Mapping):
            problems.append(Problem("request", "a record must be an object", index=index))
            continue
        data = dict(raw)
        kind = data.get("kind")
        if not data.get("id") and isinstance(kind, str):
            data["id"] = f"{_ID_PREFIX.get(kind, kind.upper())}-{uuid.uuid4().hex[:10]}"
        record_id = str(data.get("id") or "") or None
        try:
            record = parse_record(data)
        except ValidationError as exc:
            for err in exc.errors():
                # The discriminated union puts the kind first in the location: drop it.
                loc = [str(p) for p in err["loc"]]
                if loc and loc[0] == kind:
                    loc = loc[1:]
                message = err["msg"]
                if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
                    message = "'kind' must be one of product, faq, policy, promotion"
                    loc = ["kind"]
                problems.append(
                    Problem(
                        "request",
                        message,
                        index=index,
                        record_id=record_id,
                        field=".".join(loc) or None,
                    )
                )
            continue
        if record.id in seen:
            problems.append(
                Problem("request", "duplicate id", index=index, record_id=record.id, field="id")
            )
        seen.add(record.id)
        parsed.append(record)
    if problems:
        raise RecordValidationError(problems)
    return parsed
