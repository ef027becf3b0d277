"""How a record is laid out in the vector store: one row per passage, state kept in row metadata."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.knowledge.documents import Document, Metadata, Passage
from assistant.knowledge.schema import Record, parse_record, record_to_dict

log = logging.getLogger(__name__)

# "#" cannot occur in a record id (schema.RecordId), so "<id>#<passage key>" is unambiguous.
ROW_SEPARATOR = "#"
# Per-row keys: which record and language a row belongs to.
RECORD_ID = "record_id"
LANG = "lang"
# Knowledge-base state, kept in the store so a restart needs no re-embedding. Keys starting
# with "_" are internal: never exposed in hits, never accepted as filters.
CONTENT_HASH = "_content_hash"
TEXT_HASH = "_text_hash"
# The record itself, as JSON, on the record's first row only (no need to store it N times).
RECORD_JSON = "_record"
_ROW_KEYS = frozenset({RECORD_ID, LANG, RECORD_JSON})


def row_id(record_id: str, passage: Passage) -> str:
    return f"{record_id}{ROW_SEPARATOR}{passage.key}"


def record_id_of(row: str) -> str:
    return row.rsplit(ROW_SEPARATOR, 1)[0]


def lang_of(row: str) -> str:
    """The passage language in a row id: "P1#zh" and "P1#zh.2" are both "zh"."""
    return row.rsplit(ROW_SEPARATOR, 1)[-1].split(".", 1)[0]


def shared_metadata(doc: Document, c_hash: str, t_hash: str) -> Metadata:
    """Metadata every row of a record carries: filters apply to each row the same way."""
    meta: Metadata = dict(doc.metadata)
    meta["title_zh"] = doc.title_zh
    meta["title_en"] = doc.title_en
    meta[CONTENT_HASH] = c_hash
    meta[TEXT_HASH] = t_hash
    return meta


def public(meta: Metadata) -> Metadata:
    return {k: v for k, v in meta.items() if not k.startswith("_")}


@dataclass(frozen=True)
class RowBatch:
    """Rows to write for some records, metadata ready for Chroma's merge-on-write."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]


def build_rows(
    record: Record,
    doc: Document,
    shared: Metadata,
    previous_keys: Iterable[str] = (),
) -> RowBatch:
    """One row per passage. ``previous_keys`` are the shared keys the rows had before.

    Chroma merges metadata on upsert and update: a key that disappeared from the record (say
    ``fragrance_free`` became unknown) must be written as ``None`` to be removed.
    """
    removed = {k: None for k in previous_keys if k not in shared and k not in _ROW_KEYS}
    record_json = json.dumps(record_to_dict(record), ensure_ascii=False, sort_keys=True)
    batch = RowBatch([], [], [])
    for i, passage in enumerate(doc.passages):
        meta: dict[str, Any] = {**removed, **shared, RECORD_ID: record.id, LANG: passage.lang}
        meta[RECORD_JSON] = record_json if i == 0 else None
        batch.ids.append(row_id(record.id, passage))
        batch.texts.append(passage.text)
        batch.metadatas.append(meta)
    return batch


def merge(batches: Iterable[RowBatch]) -> RowBatch:
    out = RowBatch([], [], [])
    for batch in batches:
        out.ids.extend(batch.ids)
        out.texts.extend(batch.texts)
        out.metadatas.extend(batch.metadatas)
    return out


@dataclass(frozen=True)
class StoredRecord:
    """A record as read back from the store."""

    record: Record
    shared: Metadata
    rows: tuple[str, ...]


def read_back(
    ids: Sequence[str], metadatas: Sequence[Metadata]
) -> tuple[dict[str, StoredRecord], set[str]]:
    """Regroup stored rows into records; rows that cannot be read are returned as orphans."""
    rows_of: dict[str, list[str]] = {}
    first: dict[str, Metadata] = {}
    for row, meta in zip(ids, metadatas, strict=True):
        rid = str(meta.get(RECORD_ID) or record_id_of(row))
        rows_of.setdefault(rid, []).append(row)
        if RECORD_JSON in meta:
            first[rid] = meta
    records: dict[str, StoredRecord] = {}
    orphans: set[str] = set()
    for rid, rows in rows_of.items():
        meta = first.get(rid)
        try:
            if meta is None:
                raise ValueError("no row holds the record")
            record = parse_record(json.loads(str(meta[RECORD_JSON])))
        except Exception as exc:  # noqa: BLE001 - any unreadable record is rewritten or deleted
            log.warning("cannot read stored record %s (%s); it will be replaced", rid, exc)
            orphans.update(rows)
            continue
        shared = {k: v for k, v in meta.items() if k not in _ROW_KEYS}
        records[rid] = StoredRecord(record, shared, tuple(rows))
    return records, orphans
