"""The knowledge base: incremental sync and hybrid (dense + BM25) search with metadata filters."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api import ClientAPI

from assistant.knowledge import rows
from assistant.knowledge.chroma_ef import EmbedderLike, SiyuEmbeddingFunction
from assistant.knowledge.dense import DenseIndex
from assistant.knowledge.documents import (
    DOCUMENT_VERSION,
    Document,
    Metadata,
    build_document,
    content_hash,
    text_hash,
)
from assistant.knowledge.filters import MetadataColumns, build_where, matches
from assistant.knowledge.fusion import FusionConfig, weighted_rrf
from assistant.knowledge.results import Hit, KBStats, SyncReport
from assistant.knowledge.schema import Record
from assistant.knowledge.sparse import BM25Index, tokenize, tokenizer_fingerprint
from assistant.knowledge.store import ChromaStore, VectorStore
from assistant.language import detect_language

__all__ = [
    "Hit",
    "KBStats",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "SyncReport",
    "open_knowledge_base",
]

log = logging.getLogger(__name__)

_WORKERS: ThreadPoolExecutor | None = None
_WORKERS_LOCK = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    """Threads shared by every knowledge base, for BM25 while the query is being embedded."""
    global _WORKERS
    with _WORKERS_LOCK:
        if _WORKERS is None:
            _WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kb-search")
        return _WORKERS


def _sparse_ranking(
    sparse: BM25Index, text: str, pool: int, mask: np.ndarray | None
) -> tuple[list[str], dict[str, float]]:
    """BM25's ids, best first, and how much of the query each contains."""
    ids = [i for i, _ in sparse.search(text, pool, mask=mask)]
    return ids, sparse.coverage(text, ids)


class KnowledgeBaseError(RuntimeError):
    """The knowledge base cannot serve a request in its current state."""


@dataclass
class _Entry:
    record: Record
    shared: Metadata  # metadata every row of the record carries, internal keys included
    content_hash: str
    text_hash: str
    rows: tuple[str, ...]
    slot: int  # the record's slot in the BM25 index and the filter columns
    # The model ``text_hash`` is known to be computed with; None for a record read back from
    # the store until a sync has checked it. Lets a sync skip rebuilding unchanged records.
    text_model: str | None = None
    # Hash of the text BM25 indexed (None: not known yet): a price or stock edit leaves it,
    # and then the record's tokens and postings are kept instead of cut again.
    sparse_hash: bytes | None = None


@dataclass
class _Plan:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embed: list[str] = field(default_factory=list)
    metadata_only: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class KnowledgeBase:
    """Records of one brand knowledge base, searchable in Chinese and English.

    State lives in the vector store (one row per passage with the record's filter metadata,
    content hashes and, on its first row, the record's JSON), so a restart rebuilds the
    in-memory indexes without embedding anything: the record map, BM25, the filter columns
    and the passage vectors (searched in process, see :mod:`assistant.knowledge.dense`; the
    store's own filtered queries take seconds at 100k records). Writes (sync, upsert, delete)
    are serialised and update the indexes record by record; searches run concurrently.
    """

    def __init__(
        self,
        name: str,
        store: VectorStore,
        sparse: BM25Index,
        embedder: EmbedderLike,
        fusion: FusionConfig | None = None,
    ) -> None:
        self.name = name
        self.store = store
        self.sparse = sparse
        self.embedder = embedder
        self.fusion = fusion or FusionConfig()
        self._lock = threading.RLock()  # guards the record map and the in-memory indexes
        self._write_lock = threading.Lock()  # one sync/upsert/delete at a time
        self._entries: dict[str, _Entry] = {}
        self._orphans: set[str] = set()  # stored rows we could not read back: deleted on sync
        self._columns = MetadataColumns()
        self._dense = DenseIndex(int(embedder.dimension))
        self._metadata_keys: frozenset[str] = frozenset()
        self._key_counts: Counter[str] = Counter()  # records holding each public metadata key
        self._rows_by_lang: Counter[str] = Counter()
        self._kinds: Counter[str] = Counter()
        self._stored_model: str | None = None
        # Tokens of records stored without (current) tokens: written on the next full sync.
        self._unstored_tokens: dict[str, str] = {}
        self._last_sync: SyncReport | None = None
        self.reload()

    # ------------------------------------------------------------------ loading
    def reload(self) -> None:
        """Re-read every record from the store (another app instance may have synced it)."""
        reader = rows.ReadBack()
        position: dict[str, int] = {}  # row id -> its vector in ``vectors``
        row_langs: list[str] = []
        vectors: np.ndarray | None = None
        pages = getattr(self.store, "pages", None)
        stored_pages = (
            pages(with_embeddings=True) if pages else [self.store.get(with_embeddings=True)]
        )
        for page in stored_pages:
            reader.add(page.ids, page.metadatas)
            block = page.embeddings
            if block is not None and block.size:
                if vectors is None:  # sized from the count: no second copy while growing
                    expected = max(self.store.count(), len(block))
                    vectors = np.empty((expected, block.shape[1]), dtype=np.float32)
                if len(position) + len(block) > len(vectors):  # rows added meanwhile
                    grown = np.empty((len(position) + len(block), block.shape[1]), np.float32)
                    grown[: len(position)] = vectors[: len(position)]
                    vectors = grown
                vectors[len(position) : len(position) + len(block)] = block
            for row, meta in zip(page.ids, page.metadatas, strict=True):
                position[row] = len(position)
                row_langs.append(str(meta.get(rows.LANG) or rows.lang_of(row)))
        records, orphans = reader.result()
        del reader
        entries: dict[str, _Entry] = {}
        sparse = BM25Index(self.sparse.k1, self.sparse.b)
        fingerprint = tokenizer_fingerprint()
        unstored: dict[str, str] = {}
        for rid, item in records.items():
            tokens = rows.decode_tokens(item.tokens, fingerprint)
            if tokens is None:  # written before tokens were stored, or by another tokenizer
                tokens = tokenize(build_document(item.record).sparse_text)
                encoded = rows.encode_tokens(tokens, fingerprint)
                if encoded is not None:
                    unstored[rid] = encoded
            entries[rid] = _Entry(
                record=item.record,
                shared=item.shared,
                content_hash=str(item.shared.get(rows.CONTENT_HASH, "")),
                text_hash=str(item.shared.get(rows.TEXT_HASH, "")),
                rows=item.rows,
                slot=sparse.upsert_tokens(rid, tokens),
            )
        del records
        columns = MetadataColumns()
        columns.set_many([e.slot for e in entries.values()], [e.shared for e in entries.values()])
        dense = DenseIndex(vectors.shape[1] if vectors is not None else self.embedder.dimension)
        if vectors is not None:
            row_ids = [r for e in entries.values() for r in e.rows]
            at = [position[r] for r in row_ids]
            dense.load(
                row_ids,
                [row_langs[i] for i in at],
                vectors,
                at,
                [entries[rows.record_id_of(r)].slot for r in row_ids],
            )
        del vectors, position, row_langs
        key_counts: Counter[str] = Counter()
        by_lang: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        for entry in entries.values():
            key_counts.update(rows.public(entry.shared).keys())
            by_lang.update(rows.lang_of(r) for r in entry.rows)
            kinds[entry.record.kind] += 1
        with self._lock:
            self._entries = entries
            self._orphans = orphans
            self.sparse = sparse
            self._columns = columns
            self._dense = dense
            self._key_counts = key_counts
            self._rows_by_lang = by_lang
            self._kinds = kinds
            self._metadata_keys = frozenset(key_counts)
            self._unstored_tokens = unstored
            self._stored_model = self.store.info.get("embedding_model")
        _release_memory()

    def _count(self, entry: _Entry, sign: int) -> None:
        """Add (``sign`` 1) or remove (-1) a record's share of the key, language and kind counts
        (kept up to date write by write: recounting 100k records took longer than a write)."""
        keys = Counter(rows.public(entry.shared).keys())
        langs = Counter(rows.lang_of(r) for r in entry.rows)
        kind = Counter([entry.record.kind])
        if sign > 0:
            self._key_counts.update(keys)
            self._rows_by_lang.update(langs)
            self._kinds.update(kind)
        else:
            self._key_counts.subtract(keys)
            self._rows_by_lang.subtract(langs)
            self._kinds.subtract(kind)
            for counter, changed in (
                (self._key_counts, keys),
                (self._rows_by_lang, langs),
                (self._kinds, kind),
            ):
                for key in changed:
                    if counter[key] <= 0:
                        del counter[key]

    def _dense_is_current(self) -> bool:
        """False when the stored vectors come from another model than ours."""
        return not self._entries or self._stored_model in (None, self.embedder.model_name)

    # ------------------------------------------------------------------ writing
    def sync(self, records: Iterable[Record]) -> SyncReport:
        """Make the knowledge base hold exactly ``records``.

        Only records whose embedded passages changed are re-embedded; records whose other facts
        changed (price, stock) get new metadata only; records no longer present are deleted.
        """
        return self._write(list(records), full=True)

    def upsert(self, records: Iterable[Record]) -> SyncReport:
        """Add or replace ``records``, leaving every other record alone (console/API edits)."""
        return self._write(list(records), full=False)

    def delete(self, ids: Iterable[str]) -> SyncReport:
        """Remove records by id; unknown ids are ignored."""
        started = time.perf_counter()
        with self._write_lock:
            with self._lock:
                gone = [i for i in dict.fromkeys(ids) if i in self._entries]
                dead_rows = [r for i in gone for r in self._entries[i].rows]
            self.store.delete(dead_rows)
            with self._lock:
                for doc_id in gone:
                    self._forget(doc_id)
                self._dense.delete(dead_rows)
                self._metadata_keys = frozenset(self._key_counts)
        return SyncReport(deleted=tuple(gone), seconds=time.perf_counter() - started)

    def _forget(self, record_id: str) -> None:
        """Drop a record from the in-memory indexes (caller holds the lock)."""
        self._unstored_tokens.pop(record_id, None)
        entry = self._entries.pop(record_id, None)
        if entry is None:
            return
        self._columns.clear(entry.slot)
        self.sparse.delete(record_id)
        self._count(entry, -1)

    def _write(self, records: list[Record], full: bool) -> SyncReport:
        started = time.perf_counter()
        counts = Counter(r.id for r in records)
        duplicates = sorted(i for i, n in counts.items() if n > 1)
        if duplicates:
            raise ValueError(f"duplicate record ids: {duplicates}")
        model = self.embedder.model_name
        by_id = {r.id: r for r in records}

        with self._write_lock:
            with self._lock:
                if full:
                    old = dict(self._entries)
                else:
                    old = {i: self._entries[i] for i in by_id if i in self._entries}
                orphans = set(self._orphans) if full else set()
            reset = self._needs_reset()
            docs: dict[str, Document] = {}
            hashes: dict[str, tuple[str, str]] = {}
            verified: list[_Entry] = []
            for rid, record in by_id.items():
                c_hash = content_hash(record)
                entry = old.get(rid)
                if (
                    entry is not None
                    and not reset
                    and entry.content_hash == c_hash
                    and entry.text_model == model
                ):
                    # The very record we hold, its text hashed with this model: unchanged,
                    # no need to rebuild its document (the bulk of a 100k-record sync).
                    hashes[rid] = (c_hash, entry.text_hash)
                    continue
                docs[rid] = build_document(record)
                hashes[rid] = (c_hash, text_hash(docs[rid], model))
                if entry is not None and entry.text_hash == hashes[rid][1]:
                    verified.append(entry)
                    entry.sparse_hash = _sparse_hash(docs[rid])
            plan = _plan(old, hashes, full, reset)
            previous = {} if reset else old  # a rebuilt collection has no old rows
            changed = [*plan.embed, *plan.metadata_only]

            shared = {i: rows.shared_metadata(docs[i], *hashes[i]) for i in changed}
            sparse_hashes = {i: _sparse_hash(docs[i]) for i in changed}
            # Records whose BM25 text did not change (a price or stock edit) keep their tokens.
            same_text = {
                i
                for i in plan.metadata_only
                if sparse_hashes[i] == (old[i].sparse_hash or _sparse_hash(old[i].record))
            }
            # Tokenise outside the lock (at 100k records this takes minutes; searches go on)
            # and store the tokens with the record, so a restart need not cut them again.
            tokens = {i: tokenize(docs[i].sparse_text) for i in changed if i not in same_text}
            fingerprint = tokenizer_fingerprint()
            # "" where tokens cannot be stored: it clears the record's stale stored tokens
            # (read back as absent, so a restart cuts them again).
            encoded = {i: rows.encode_tokens(tokens[i], fingerprint) or "" for i in tokens}
            with self._lock:  # kept tokens that the store lacks: written now
                encoded.update(
                    {i: self._unstored_tokens[i] for i in same_text if i in self._unstored_tokens}
                )
            embed_rows = rows.merge(
                rows.build_rows(by_id[i], docs[i], shared[i], _keys(previous.get(i)), encoded[i])
                for i in plan.embed
            )
            meta_rows = rows.merge(
                rows.build_rows(
                    by_id[i], docs[i], shared[i], _keys(previous.get(i)), encoded.get(i)
                )
                for i in plan.metadata_only
            )
            if full and not reset:  # tokens of unchanged records read back without them
                with self._lock:
                    pending = {i: t for i, t in self._unstored_tokens.items() if i in by_id}
                for rid in plan.unchanged:
                    if rid in pending:
                        meta_rows.ids.append(old[rid].rows[0])
                        meta_rows.texts.append("")
                        meta_rows.metadatas.append({rows.TOKENS: pending[rid]})
            new_rows = set(embed_rows.ids)
            dead_rows = [r for i in plan.embed if i in previous for r in old[i].rows]
            dead_rows = [r for r in dead_rows if r not in new_rows]
            dead_rows += [r for i in plan.deleted for r in old[i].rows]
            dead_rows += sorted(orphans)

            # Embed first: if the model fails, nothing has been written.
            vectors = self._embed(embed_rows.texts)
            if reset:
                log.info("knowledge base %s: embedding dimension changed, rebuilding", self.name)
                self.store.reset()
            if embed_rows.ids:
                self.store.upsert(embed_rows.ids, vectors, embed_rows.texts, embed_rows.metadatas)
            if meta_rows.ids:
                self.store.update_metadata(meta_rows.ids, meta_rows.metadatas)
            if dead_rows:
                self.store.delete(dead_rows)
            if embed_rows.ids or reset:
                self.store.set_info(
                    embedding_model=model,
                    dimension=int(self.embedder.dimension),
                    document_version=DOCUMENT_VERSION,
                )
                self._stored_model = model

            with self._lock:
                if reset:
                    self._dense = DenseIndex(int(self.embedder.dimension))
                for entry in verified:
                    entry.text_model = model
                for rid in changed:
                    doc = docs[rid]
                    before = self._entries.get(rid)
                    if before is not None:
                        self._count(before, -1)
                    if rid in same_text and before is not None:
                        slot = before.slot  # postings unchanged
                    else:
                        slot = self.sparse.upsert_tokens(rid, tokens[rid])
                    entry = _Entry(
                        record=by_id[rid],
                        shared=shared[rid],
                        content_hash=hashes[rid][0],
                        text_hash=hashes[rid][1],
                        rows=tuple(rows.row_id(rid, p) for p in doc.passages),
                        slot=slot,
                        text_model=model,
                        sparse_hash=sparse_hashes[rid],
                    )
                    self._entries[rid] = entry
                    self._columns.set(entry.slot, entry.shared)
                    self._count(entry, 1)
                for rid in plan.deleted:
                    self._forget(rid)
                self._dense.delete(dead_rows)
                self._dense.upsert(
                    embed_rows.ids,
                    [str(m[rows.LANG]) for m in embed_rows.metadatas],
                    vectors,
                    [self._entries[rows.record_id_of(r)].slot for r in embed_rows.ids],
                )
                self._metadata_keys = frozenset(self._key_counts)
                for rid in changed:
                    if rid in encoded:
                        self._unstored_tokens.pop(rid, None)
                if full:
                    self._orphans = set()
                    self._unstored_tokens = {}

        report = SyncReport(
            added=tuple(plan.added),
            updated=tuple(plan.updated),
            deleted=tuple(plan.deleted),
            unchanged=tuple(plan.unchanged),
            embedded=len(plan.embed),
            seconds=time.perf_counter() - started,
        )
        if full:
            self._last_sync = report
        log.info("knowledge base %s: %s", self.name, report.summary())
        return report

    def _needs_reset(self) -> bool:
        """The collection must be rebuilt when the stored vectors have another dimension."""
        stored_dim = self.store.info.get("dimension")
        return stored_dim is not None and int(stored_dim) != int(self.embedder.dimension)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, int(self.embedder.dimension)), dtype=np.float32)
        return np.asarray(self.embedder.embed_passages(list(texts)), dtype=np.float32)

    # ------------------------------------------------------------------ reading
    def get(self, record_id: str) -> Record | None:
        entry = self._entries.get(record_id)
        return entry.record if entry else None

    def records(self, kind: str | None = None) -> list[Record]:
        """Every record (of ``kind``), in no particular order."""
        with self._lock:
            entries = list(self._entries.values())
        return [e.record for e in entries if kind is None or e.record.kind == kind]

    def __len__(self) -> int:
        return len(self._entries)

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Mapping[str, Any] | None = None,
        kinds: Iterable[str] | None = None,
        *,
        min_similarity: float | None = None,
        lang: str | None = None,
        fusion: FusionConfig | None = None,
    ) -> list[Hit]:
        """Hybrid search: dense (leading) and BM25 rankings fused by weighted RRF.

        ``filters`` are shopper-level (see :func:`assistant.knowledge.filters.build_where`) and
        apply identically to both retrievers. ``min_similarity`` drops hits whose cosine
        similarity is below it. ``lang`` picks the language of ``Hit.title`` (default: the
        query's language). ``fusion`` overrides the knowledge base's fusion settings for this
        call (``FusionConfig.dense_only()``).
        """
        text = query.strip()
        if not text or k <= 0:
            return []
        if not self._dense_is_current():
            raise KnowledgeBaseError(
                f"knowledge base {self.name!r} holds vectors of another embedding model; "
                "run sync to re-embed"
            )
        fusion = fusion or self.fusion
        with self._lock:
            entries = self._entries
            where = build_where(filters, kinds, self._metadata_keys)
            if not entries:
                return []
            # One boolean per record slot, shared by both retrievers: the filter is evaluated
            # once per search, column by column, not once per candidate.
            mask = self._columns.mask(where) if where else None
            sparse, dense = self.sparse, self._dense
        pool = min(fusion.pool(k), len(entries))

        # BM25 needs no query vector: it runs while the model embeds the query (torch releases
        # the GIL), on the core the embedder leaves to the rest of the stack.
        sparse_job = None
        if fusion.sparse_weight > 0:
            sparse_job = _workers().submit(_sparse_ranking, sparse, text, pool, mask)
        qvec = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        dense_ids: list[str] = []
        similarity: dict[str, float] = {}
        seen: set[str] = set()
        if fusion.dense_weight > 0:  # the dense ranking counts for nothing otherwise
            dense_ids, similarity, seen = self._dense_ranking(
                qvec, mask, pool, fusion.language_centering, dense
            )
        sparse_ids, coverage = sparse_job.result() if sparse_job else ([], {})
        fused = weighted_rrf(dense_ids[:pool], sparse_ids, fusion, coverage)[:k]

        # Similarity is over all of a record's passages: look up the vectors of passages the
        # dense ranking did not return (BM25-only hits, a policy's other sections).
        missing = [r for i, _ in fused if i in entries for r in entries[i].rows if r not in seen]
        for row, vector in dense.vectors(missing).items():
            rid = rows.record_id_of(row)
            similarity[rid] = max(similarity.get(rid, -1.0), float(np.dot(qvec, vector)))
        lang = lang or detect_language(text)
        results: list[Hit] = []
        for rid, score in fused:
            entry = entries.get(rid)
            if entry is None:  # deleted by a concurrent sync
                continue
            if where and not matches(where, entry.shared):
                continue  # a concurrent write gave the filter-mask slot to another record
            sim = min(1.0, max(0.0, similarity.get(rid, 0.0)))
            if min_similarity is not None and sim < min_similarity:
                continue
            results.append(
                Hit(
                    id=rid,
                    kind=entry.record.kind,
                    title=entry.record.title(lang),
                    score=score,
                    similarity=sim,
                    metadata=rows.public(entry.shared),
                    record=entry.record,
                )
            )
        return results

    def _dense_ranking(
        self,
        qvec: np.ndarray,
        mask: np.ndarray | None,
        pool: int,
        centering: float,
        dense: DenseIndex | None = None,
    ) -> tuple[list[str], dict[str, float], set[str]]:
        """Records ranked by their best passage, their best raw cosine, and the rows seen.

        Each passage language is searched on its own and its scores are lowered by the query's
        similarity to that language's centroid, so a passage competes with its own language's
        typical score instead of losing to every passage in the query's language.
        """
        with self._lock:
            by_lang = {lang: n for lang, n in self._rows_by_lang.items() if n}
            total = max(1, len(self._entries))
            dense = dense or self._dense

        def search(lang: str, count: int) -> list[tuple[str, float]]:
            # Enough rows that ``pool`` records usually appear (policies have many sections).
            return dense.search(qvec, lang, min(pool * -(-count // total) + pool, count), mask)

        langs = list(by_lang.items())
        # Searching the languages in parallel gained nothing measurable: numpy's BLAS already
        # spreads a 100k-row scan over both cores.
        found = [search(lang, count) for lang, count in langs]
        candidates: list[tuple[float, str, float]] = []  # (ranking score, record id, cosine)
        seen: set[str] = set()
        for (lang, _), rows_found in zip(langs, found, strict=True):
            offset = 0.0
            if len(by_lang) > 1:
                centroid = dense.centroid(lang)
                if centroid is not None:
                    offset = centering * float(qvec @ centroid)
            for row, cosine in rows_found:
                seen.add(row)
                candidates.append((cosine - offset, rows.record_id_of(row), cosine))
        candidates.sort(key=lambda c: c[0], reverse=True)
        ranking: list[str] = []
        similarity: dict[str, float] = {}
        for _, rid, cosine in candidates:
            if rid not in similarity:
                ranking.append(rid)
                similarity[rid] = cosine
            else:
                similarity[rid] = max(similarity[rid], cosine)
        return ranking, similarity, seen

    def stats(self) -> KBStats:
        with self._lock:
            kinds = +self._kinds
            count, row_count = len(self._entries), sum(self._rows_by_lang.values())
            terms = self.sparse.vocabulary_size
        return KBStats(
            name=self.name,
            collection=getattr(self.store, "collection_name", self.name),
            records=count,
            passages=row_count,
            by_kind=dict(sorted(kinds.items())),
            embedding_model=self.embedder.model_name,
            dimension=int(self.embedder.dimension),
            sparse_terms=terms,
            last_sync=self._last_sync,
        )


def _sparse_hash(source: Document | Record) -> bytes:
    """A short hash of the text BM25 indexes for a record (or its built document)."""
    doc = source if isinstance(source, Document) else build_document(source)
    return hashlib.blake2b(doc.sparse_text.encode(), digest_size=16).digest()


def _release_memory() -> None:
    """Hand freed heap back to the OS after a start-up's transient allocations.

    Reading 100k records leaves about a gigabyte of freed-but-kept heap in glibc's allocator;
    ``malloc_trim`` returns it (measured: RSS 3.4 GB -> 2.4 GB). A no-op where unavailable.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _keys(entry: _Entry | None) -> Iterable[str]:
    return entry.shared.keys() if entry is not None else ()


def _plan(
    old: Mapping[str, _Entry],
    hashes: Mapping[str, tuple[str, str]],
    full: bool,
    reset: bool,
) -> _Plan:
    plan = _Plan()
    for doc_id, (c_hash, t_hash) in hashes.items():
        entry = old.get(doc_id)
        if entry is None:
            plan.added.append(doc_id)
            plan.embed.append(doc_id)
        elif reset or entry.text_hash != t_hash:
            # After a reset the collection is empty, so every record is written again.
            plan.updated.append(doc_id)
            plan.embed.append(doc_id)
        elif entry.content_hash != c_hash:
            plan.updated.append(doc_id)
            plan.metadata_only.append(doc_id)
        else:
            plan.unchanged.append(doc_id)
    if full:
        plan.deleted = sorted(set(old) - set(hashes))
    return plan


def open_knowledge_base(
    data_dir: str | Path,
    name: str = "default",
    embedder: EmbedderLike | None = None,
    *,
    client: ClientAPI | None = None,
    fusion: FusionConfig | None = None,
) -> KnowledgeBase:
    """Open (or create) knowledge base ``name``.

    Vectors live in an embedded Chroma database under ``data_dir`` unless ``client`` (e.g. a
    ``chromadb.HttpClient`` for a shared Chroma server) is given. ``embedder`` defaults to the
    offline default model.
    """
    if embedder is None:
        from assistant.knowledge.embedding import Embedder, ensure_default_model

        embedder = Embedder(ensure_default_model())
    ef = SiyuEmbeddingFunction(embedder)
    if client is not None:
        store = ChromaStore(client, name, ef)
    else:
        store = ChromaStore.persistent(data_dir, name, ef)
    return KnowledgeBase(name, store, BM25Index(), embedder, fusion)
