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
# The record's BM25 tokens, first row only: "<tokenizer fingerprint>\x1e<tok>\x1f<tok>...".
# Cutting Chinese with jieba is most of a start-up's work (about 5 minutes for 100k records);
# stored tokens are used while the fingerprint matches the running tokenizer.
TOKENS = "_tokens"
_TOKEN_HEAD, _TOKEN_SEP = "\x1e", "\x1f"
_ROW_KEYS = frozenset({RECORD_ID, LANG, RECORD_JSON, TOKENS})


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


def encode_tokens(tokens: Sequence[str], fingerprint: str) -> str | None:
    """Tokens as one metadata string (None if a token holds a separator: not stored)."""
    if any(_TOKEN_SEP in t or _TOKEN_HEAD in t for t in tokens):
        return None
    return fingerprint + _TOKEN_HEAD + _TOKEN_SEP.join(tokens)


def decode_tokens(value: object, fingerprint: str) -> list[str] | None:
    """Stored tokens, or None when absent or cut by another tokenizer."""
    if not isinstance(value, str):
        return None
    head, sep, body = value.partition(_TOKEN_HEAD)
    if not sep or head != fingerprint:
        return None
    return body.split(_TOKEN_SEP) if body else []


def build_rows(
    record: Record,
    doc: Document,
    shared: Metadata,
    previous_keys: Iterable[str] = (),
    tokens: str | None = None,
) -> RowBatch:
    """One row per passage. ``previous_keys`` are the shared keys the rows had before;
    ``tokens`` (see :func:`encode_tokens`) go on the first row with the record's JSON; without
    them the first row's stored tokens are left alone (Chroma merges metadata).

    Chroma merges metadata on upsert and update: a key that disappeared from the record (say
    ``fragrance_free`` became unknown) must be written as ``None`` to be removed.
    """
    removed = {k: None for k in previous_keys if k not in shared and k not in _ROW_KEYS}
    record_json = json.dumps(record_to_dict(record), ensure_ascii=False, sort_keys=True)
    batch = RowBatch([], [], [])
    for i, passage in enumerate(doc.passages):
        meta: dict[str, Any] = {**removed, **shared, RECORD_ID: record.id, LANG: passage.lang}
        meta[RECORD_JSON] = record_json if i == 0 else None
        if i > 0 or tokens is not None:  # none given: the stored tokens stay as they are
            meta[TOKENS] = tokens if i == 0 else None
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
    """A record as read back from the store; ``tokens`` as stored (see :func:`decode_tokens`)."""

    record: Record
    shared: Metadata
    rows: tuple[str, ...]
    tokens: object = None


class ReadBack:
    """Regroups stored rows into records, page by page.

    Each record is parsed as soon as its first row (the one holding its JSON) arrives, so a
    start-up never holds every row's metadata at once.
    """

    def __init__(self) -> None:
        self._rows: dict[str, list[str]] = {}
        self._records: dict[str, tuple[Record, Metadata, object]] = {}
        self._errors: dict[str, str] = {}

    def add(self, ids: Sequence[str], metadatas: Sequence[Metadata]) -> None:
        for row, meta in zip(ids, metadatas, strict=True):
            rid = str(meta.get(RECORD_ID) or record_id_of(row))
            rows = self._rows.setdefault(rid, [])
            rows.append(row)
            if RECORD_JSON not in meta:
                continue
            if len(rows) > 1:  # the row holding the record (and tokens) comes first
                rows.insert(0, rows.pop())
            try:
                record = parse_record(json.loads(str(meta[RECORD_JSON])))
            except Exception as exc:  # noqa: BLE001 - any unreadable record is rewritten or deleted
                self._errors[rid] = str(exc)
                self._records.pop(rid, None)
                continue
            self._errors.pop(rid, None)
            shared = {k: v for k, v in meta.items() if k not in _ROW_KEYS}
            self._records[rid] = (record, shared, meta.get(TOKENS))

    def result(self) -> tuple[dict[str, StoredRecord], set[str]]:
        """Records by id, and the rows of records that could not be read (orphans)."""
        records: dict[str, StoredRecord] = {}
        orphans: set[str] = set()
        for rid, rows in self._rows.items():
            found = self._records.get(rid)
            if found is None:
                reason = self._errors.get(rid, "no row holds the record")
                log.warning("cannot read stored record %s (%s); it will be replaced", rid, reason)
                orphans.update(rows)
                continue
            record, shared, tokens = found
            records[rid] = StoredRecord(record, shared, tuple(rows), tokens)
        return records, orphans


def read_back(
    ids: Sequence[str], metadatas: Sequence[Metadata]
) -> tuple[dict[str, StoredRecord], set[str]]:
    """Regroup stored rows into records; rows that cannot be read are returned as orphans."""
    reader = ReadBack()
    reader.add(ids, metadatas)
    return reader.result()
