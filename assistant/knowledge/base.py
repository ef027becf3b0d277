"""The knowledge base: incremental sync and hybrid (dense + BM25) search with metadata filters."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api import ClientAPI

from assistant.knowledge import rows
from assistant.knowledge.chroma_ef import EmbedderLike, SiyuEmbeddingFunction
from assistant.knowledge.documents import (
    DOCUMENT_VERSION,
    Document,
    Metadata,
    build_document,
    content_hash,
    text_hash,
)
from assistant.knowledge.filters import Where, build_where, matches
from assistant.knowledge.fusion import FusionConfig, weighted_rrf
from assistant.knowledge.results import Hit, KBStats, SyncReport
from assistant.knowledge.schema import Record
from assistant.knowledge.sparse import BM25Index
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

# Vectors averaged per language for the centring offset; a sample this size pins the mean well.
CENTROID_SAMPLE = 4096


class KnowledgeBaseError(RuntimeError):
    """The knowledge base cannot serve a request in its current state."""


@dataclass
class _Entry:
    record: Record
    document: Document
    shared: Metadata  # metadata every row of the record carries, internal keys included
    content_hash: str
    text_hash: str
    rows: tuple[str, ...]


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
    in-memory BM25 index and record map without embedding anything. Writes (sync, upsert,
    delete) are serialised; searches run concurrently with them.
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
        self._lock = threading.RLock()  # guards _entries and the BM25 index
        self._write_lock = threading.Lock()  # one sync/upsert/delete at a time
        self._entries: dict[str, _Entry] = {}
        self._orphans: set[str] = set()  # stored rows we could not read back: deleted on sync
        self._metadata_keys: frozenset[str] = frozenset()
        self._rows_by_lang: dict[str, int] = {}
        self._centroids: dict[str, np.ndarray] = {}
        self._stored_model: str | None = None
        self._last_sync: SyncReport | None = None
        self.reload()

    # ------------------------------------------------------------------ loading
    def reload(self) -> None:
        """Re-read every record from the store (another app instance may have synced it)."""
        stored = self.store.get()
        records, orphans = rows.read_back(stored.ids, stored.metadatas)
        entries: dict[str, _Entry] = {}
        sparse = BM25Index(self.sparse.k1, self.sparse.b)
        for rid, item in records.items():
            doc = build_document(item.record)
            entries[rid] = _Entry(
                record=item.record,
                document=doc,
                shared=item.shared,
                content_hash=str(item.shared.get(rows.CONTENT_HASH, "")),
                text_hash=str(item.shared.get(rows.TEXT_HASH, "")),
                rows=item.rows,
            )
            sparse.upsert(rid, doc.sparse_text)
        with self._lock:
            self._entries = entries
            self._orphans = orphans
            self.sparse = sparse
            self._stored_model = self.store.info.get("embedding_model")
            self._refresh_counts()
        self._refresh_centroids()

    def _refresh_counts(self) -> None:
        self._metadata_keys = frozenset(
            k for e in self._entries.values() for k in rows.public(e.shared)
        )
        # From the stored rows, which is what the dense queries will meet.
        self._rows_by_lang = dict(
            Counter(rows.lang_of(r) for e in self._entries.values() for r in e.rows)
        )

    def _refresh_centroids(self) -> None:
        """Mean passage vector per language, for language-centred dense ranking."""
        centroids: dict[str, np.ndarray] = {}
        for lang, count in self._rows_by_lang.items():
            if count:
                vectors = self.store.sample_embeddings({rows.LANG: lang}, CENTROID_SAMPLE)
                if len(vectors):
                    centroids[lang] = vectors.mean(axis=0)
        with self._lock:
            self._centroids = centroids

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
                    self._entries.pop(doc_id, None)
                    self.sparse.delete(doc_id)
                self._refresh_counts()
            self._refresh_centroids()
        return SyncReport(deleted=tuple(gone), seconds=time.perf_counter() - started)

    def _write(self, records: list[Record], full: bool) -> SyncReport:
        started = time.perf_counter()
        counts = Counter(r.id for r in records)
        duplicates = sorted(i for i, n in counts.items() if n > 1)
        if duplicates:
            raise ValueError(f"duplicate record ids: {duplicates}")
        model = self.embedder.model_name
        by_id = {r.id: r for r in records}
        docs = {r.id: build_document(r) for r in records}
        hashes = {i: (content_hash(by_id[i]), text_hash(docs[i], model)) for i in by_id}

        with self._write_lock:
            with self._lock:
                old = dict(self._entries)
                orphans = set(self._orphans) if full else set()
            reset = self._needs_reset()
            plan = _plan(old, hashes, full, reset)
            previous = {} if reset else old  # a rebuilt collection has no old rows

            shared = {i: rows.shared_metadata(docs[i], *hashes[i]) for i in by_id}
            embed_rows = rows.merge(
                rows.build_rows(by_id[i], docs[i], shared[i], _keys(previous.get(i)))
                for i in plan.embed
            )
            meta_rows = rows.merge(
                rows.build_rows(by_id[i], docs[i], shared[i], _keys(previous.get(i)))
                for i in plan.metadata_only
            )
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
                for rid in (*plan.embed, *plan.metadata_only):
                    doc = docs[rid]
                    self._entries[rid] = _Entry(
                        record=by_id[rid],
                        document=doc,
                        shared=shared[rid],
                        content_hash=hashes[rid][0],
                        text_hash=hashes[rid][1],
                        rows=tuple(rows.row_id(rid, p) for p in doc.passages),
                    )
                    self.sparse.upsert(rid, doc.sparse_text)
                for rid in plan.deleted:
                    self._entries.pop(rid, None)
                    self.sparse.delete(rid)
                if full:
                    self._orphans = set()
                self._refresh_counts()
            if embed_rows.ids or dead_rows:
                self._refresh_centroids()

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
        pool = min(fusion.pool(k), len(entries))

        qvec = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        dense_ids, similarity, seen = self._dense_ranking(
            qvec, where, pool, fusion.language_centering
        )
        sparse_ids: list[str] = []
        coverage: dict[str, float] = {}
        if fusion.sparse_weight > 0:
            with self._lock:
                hits = self.sparse.search(
                    text, pool, allow=lambda i: i in entries and matches(where, entries[i].shared)
                )
                sparse_ids = [i for i, _ in hits]
                coverage = self.sparse.coverage(text, sparse_ids)
        fused = weighted_rrf(dense_ids[:pool], sparse_ids, fusion, coverage)[:k]

        # Similarity is over all of a record's passages: fetch the vectors of passages the dense
        # query did not return (BM25-only hits, a policy's other sections).
        missing = [r for i, _ in fused if i in entries for r in entries[i].rows if r not in seen]
        for row, vector in self.store.embeddings(missing).items():
            rid = rows.record_id_of(row)
            similarity[rid] = max(similarity.get(rid, -1.0), float(np.dot(qvec, vector)))
        lang = lang or detect_language(text)
        results: list[Hit] = []
        for rid, score in fused:
            entry = entries.get(rid)
            if entry is None:  # deleted by a concurrent sync
                continue
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
        self, qvec: np.ndarray, where: Where | None, pool: int, centering: float
    ) -> tuple[list[str], dict[str, float], set[str]]:
        """Records ranked by their best passage, their best raw cosine, and the rows seen.

        Each passage language is queried on its own and its scores are lowered by the query's
        similarity to that language's centroid, so a passage competes with its own language's
        typical score instead of losing to every passage in the query's language.
        """
        with self._lock:
            by_lang = {lang: n for lang, n in self._rows_by_lang.items() if n}
            centroids = dict(self._centroids)
            total = max(1, len(self._entries))
        candidates: list[tuple[float, str, float]] = []  # (ranking score, record id, cosine)
        seen: set[str] = set()
        for lang, count in by_lang.items():
            # Enough rows that ``pool`` records usually appear (policies have many sections).
            n_rows = min(pool * -(-count // total) + pool, count)
            offset = 0.0
            lang_where = where
            if len(by_lang) > 1:
                lang_where = (
                    {rows.LANG: lang} if where is None else {"$and": [where, {rows.LANG: lang}]}
                )
                if lang in centroids:
                    offset = centering * float(qvec @ centroids[lang])
            for row, distance in self.store.query(qvec, n_rows, lang_where):
                seen.add(row)
                cosine = 1.0 - distance
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
            kinds = Counter(e.record.kind for e in self._entries.values())
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
