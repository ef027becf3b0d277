"""Retrieval quality on a labelled set in the BEIR layout: nDCG@10, MRR@10 and Recall@100.

A BEIR set is three files: ``corpus.jsonl`` (``{"_id", "title", "text", "metadata"?}`` per
line), ``queries.jsonl`` (``{"_id", "text"}``) and a qrels TSV (header ``query-id corpus-id
score``, graded integer scores, > 0 = relevant). The corpus goes into a throw-away knowledge
base (a temporary folder, deleted afterwards) and every judged query is searched with each
method: ``dense`` (the embedding model alone), ``bm25`` (the keyword index alone) and ``hybrid``
(both, fused the way the assistant searches).

Corpus lines are generic :class:`~assistant.knowledge.schema.TextDocument` records, except lines
whose ``metadata`` carries ``kind`` and ``record``: those are the typed record itself (a
product, an FAQ ...), so a set exported from a catalogue is searched through exactly the
passages the assistant searches.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from assistant.knowledge.base import KnowledgeBase, open_knowledge_base
from assistant.knowledge.chroma_ef import EmbedderLike
from assistant.knowledge.documents import build_document
from assistant.knowledge.fusion import FusionConfig
from assistant.knowledge.schema import (
    RECORD_TYPES,
    Record,
    TextDocument,
    parse_record,
    record_to_dict,
)

__all__ = [
    "METHODS",
    "BeirSet",
    "EvalInputError",
    "EvalReport",
    "MethodScores",
    "ProgressCallback",
    "QueryScores",
    "corpus_line",
    "evaluate",
    "evaluate_kb",
    "fusion_for",
    "load_beir",
    "mrr_at",
    "ndcg_at",
    "read_corpus",
    "read_qrels",
    "read_queries",
    "recall_at",
    "throwaway_knowledge_base",
]

METHODS: tuple[str, ...] = ("dense", "bm25", "hybrid")
QRELS_HEADER = ("query-id", "corpus-id", "score")
NDCG_DEPTH = 10
MRR_DEPTH = 10

# Called as (stage, done, total) with stage "embed" (corpus passages) or "search" (queries).
ProgressCallback = Callable[[str, int, int], None]

_RECORD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_METADATA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# Corpus metadata keys that are fields of the document itself, not extra metadata.
_DOCUMENT_FIELDS = frozenset({"category", "lang"})
_RESERVED_KEYS = frozenset(
    {"id", "_id", "kind", "record", "title", "text"}
    | {"title_zh", "title_en", "text_zh", "text_en", "record_id"}
)


class EvalInputError(ValueError):
    """A BEIR file is missing or malformed; ``str()`` names the file and line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {message}")


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class BeirSet:
    """A labelled retrieval set: records to index, queries, and graded judgements."""

    records: list[Record]
    queries: dict[str, str]  # query id -> text, in file order
    qrels: dict[str, dict[str, int]]  # query id -> corpus id -> score
    # Record id -> corpus ``_id`` where the corpus id is not a valid record id (BEIR ids may
    # hold "/" or spaces); everything else keeps its own id.
    corpus_ids: dict[str, str] = field(default_factory=dict)

    @property
    def judged_queries(self) -> dict[str, str]:
        """Queries with at least one relevant (score > 0) judgement: the ones evaluated."""
        return {
            qid: text
            for qid, text in self.queries.items()
            if any(s > 0 for s in self.qrels.get(qid, {}).values())
        }


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of a JSON-lines file."""
    if not path.is_file():
        raise EvalInputError(path, "file not found")
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvalInputError(path, f"not valid JSON ({error.msg})", number) from None
            if not isinstance(value, dict):
                raise EvalInputError(path, "expected a JSON object per line", number)
            yield number, value


def _id_field(path: Path, number: int, value: Mapping[str, Any]) -> str:
    raw = value.get("_id")
    if isinstance(raw, bool) or not isinstance(raw, str | int) or not str(raw).strip():
        raise EvalInputError(path, '"_id" must be a non-empty string', number)
    return str(raw).strip()


def _text_field(path: Path, number: int, value: Mapping[str, Any], key: str) -> str:
    raw = value.get(key, "")
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise EvalInputError(path, f'"{key}" must be a string', number)
    return raw


def _record_id(corpus_id: str) -> str:
    """``corpus_id`` itself when it is a valid record id, else a stable id derived from it."""
    if _RECORD_ID.match(corpus_id):
        return corpus_id
    return "doc-" + hashlib.sha1(corpus_id.encode()).hexdigest()[:20]


def _validation_message(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid"))
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where + ': ' if where else ''}{message}{more}"


def _corpus_record(path: Path, number: int, corpus_id: str, value: Mapping[str, Any]) -> Record:
    metadata = value.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise EvalInputError(path, '"metadata" must be a JSON object', number)
    try:
        if "kind" in metadata and "record" in metadata:
            kind, data = metadata["kind"], metadata["record"]
            if kind not in RECORD_TYPES or not isinstance(data, dict):
                raise EvalInputError(
                    path,
                    f"metadata.kind must be one of {sorted(RECORD_TYPES)} with metadata.record "
                    f"an object, got kind {kind!r}",
                    number,
                )
            record = parse_record({**data, "kind": kind})
            if record.id != corpus_id:
                raise EvalInputError(
                    path,
                    f'metadata.record.id {record.id!r} differs from "_id" {corpus_id!r}',
                    number,
                )
            return record
        extra = {
            key: item
            for key, item in metadata.items()
            if _METADATA_KEY.match(key)
            and key not in _RESERVED_KEYS
            and not key.startswith("model_")
            and not hasattr(TextDocument, key)
            and _is_scalar_or_list(item)
        }
        return TextDocument.model_validate(
            {
                **extra,
                "id": _record_id(corpus_id),
                "title": _text_field(path, number, value, "title"),
                "text": _text_field(path, number, value, "text"),
            }
        )
    except ValidationError as error:
        raise EvalInputError(path, _validation_message(error), number) from None


def _is_scalar_or_list(value: object) -> bool:
    if isinstance(value, str | int | float | bool):
        return True
    return isinstance(value, list) and all(isinstance(v, str | int | float | bool) for v in value)


def read_corpus(path: str | Path) -> tuple[list[Record], dict[str, str]]:
    """Records of a ``corpus.jsonl`` and the record id -> corpus id map for renamed ids."""
    path = Path(path)
    records: list[Record] = []
    corpus_ids: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, value in _json_lines(path):
        corpus_id = _id_field(path, number, value)
        if corpus_id in seen:
            raise EvalInputError(
                path, f"duplicate _id {corpus_id!r} (first on line {seen[corpus_id]})", number
            )
        seen[corpus_id] = number
        record = _corpus_record(path, number, corpus_id, value)
        if record.id != corpus_id:
            if record.id in corpus_ids:
                raise EvalInputError(path, f"_id {corpus_id!r} collides with another id", number)
            corpus_ids[record.id] = corpus_id
        records.append(record)
    if not records:
        raise EvalInputError(path, "the corpus is empty")
    return records, corpus_ids


def read_queries(path: str | Path) -> dict[str, str]:
    """Query id -> text from a ``queries.jsonl``."""
    path = Path(path)
    queries: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, value in _json_lines(path):
        query_id = _id_field(path, number, value)
        if query_id in queries:
            raise EvalInputError(
                path, f"duplicate _id {query_id!r} (first on line {lines[query_id]})", number
            )
        text = _text_field(path, number, value, "text")
        if not text.strip():
            raise EvalInputError(path, f'query {query_id!r} has no "text"', number)
        queries[query_id] = text
        lines[query_id] = number
    if not queries:
        raise EvalInputError(path, "no queries")
    return queries


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Query id -> corpus id -> graded score from a qrels TSV with a header line."""
    path = Path(path)
    if not path.is_file():
        raise EvalInputError(path, "file not found")
    qrels: dict[str, dict[str, int]] = {}
    header_seen = False
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            cells = [c.strip() for c in line.rstrip("\r\n").split("\t")]
            if not header_seen:
                if tuple(c.lower() for c in cells) != QRELS_HEADER:
                    raise EvalInputError(
                        path,
                        "expected the header line 'query-id<TAB>corpus-id<TAB>score', "
                        f"got {line.strip()!r}",
                        number,
                    )
                header_seen = True
                continue
            if len(cells) != 3:
                raise EvalInputError(
                    path, f"expected 3 tab-separated columns, got {len(cells)}", number
                )
            query_id, corpus_id, raw_score = cells
            if not query_id or not corpus_id:
                raise EvalInputError(path, "empty query-id or corpus-id", number)
            try:
                score = int(raw_score)
            except ValueError:
                raise EvalInputError(
                    path, f"score must be an integer, got {raw_score!r}", number
                ) from None
            judged = qrels.setdefault(query_id, {})
            if corpus_id in judged:
                raise EvalInputError(
                    path, f"duplicate judgement for {query_id!r} / {corpus_id!r}", number
                )
            judged[corpus_id] = score
    if not header_seen:
        raise EvalInputError(path, "empty file: expected a header and judgements")
    return qrels


def _examples(ids: Iterable[str], limit: int = 5) -> str:
    ids = sorted(ids)
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def load_beir(corpus: str | Path, queries: str | Path, qrels: str | Path) -> BeirSet:
    """Read and cross-check a BEIR set: every judgement must name a known query and document."""
    records, corpus_ids = read_corpus(corpus)
    query_texts = read_queries(queries)
    judgements = read_qrels(qrels)
    known_docs = {corpus_ids.get(r.id, r.id) for r in records}
    unknown_queries = set(judgements) - set(query_texts)
    if unknown_queries:
        raise EvalInputError(
            qrels,
            f"{len(unknown_queries)} query id(s) not in {Path(queries).name}: "
            f"{_examples(unknown_queries)}",
        )
    unknown_docs = {d for judged in judgements.values() for d in judged} - known_docs
    if unknown_docs:
        raise EvalInputError(
            qrels,
            f"{len(unknown_docs)} corpus id(s) not in {Path(corpus).name}: "
            f"{_examples(unknown_docs)}",
        )
    beir = BeirSet(records, query_texts, judgements, corpus_ids)
    if not beir.judged_queries:
        raise EvalInputError(qrels, "no query has a relevant (score > 0) judgement")
    return beir


def corpus_line(record: Record, lang: str) -> dict[str, Any]:
    """A BEIR corpus line for a typed record: title and text in ``lang`` for other tools, and the
    record itself under ``metadata`` so that :func:`read_corpus` rebuilds it exactly."""
    document = build_document(record)
    passages = [p.text for p in document.passages if p.lang == lang] or [
        p.text for p in document.passages
    ]
    title = document.title_zh if lang == "zh" else document.title_en
    return {
        "_id": record.id,
        "title": title,
        "text": "\n".join(passages),
        "metadata": {"kind": record.kind, "record": record_to_dict(record)},
    }


# ---------------------------------------------------------------------------- metrics


def ndcg_at(ranked: Sequence[str], judged: Mapping[str, int], k: int = NDCG_DEPTH) -> float:
    """Normalised DCG at ``k``: gain = graded score, discount log2(rank + 1), ideal from qrels."""
    dcg = sum(
        max(judged.get(doc, 0), 0) / math.log2(rank + 1)
        for rank, doc in enumerate(ranked[:k], start=1)
    )
    gains = sorted((s for s in judged.values() if s > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))
    return dcg / ideal if ideal > 0 else 0.0


def mrr_at(ranked: Sequence[str], judged: Mapping[str, int], k: int = MRR_DEPTH) -> float:
    """Reciprocal rank of the first relevant (score > 0) document within the top ``k``."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if judged.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def recall_at(ranked: Sequence[str], judged: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant (score > 0) documents found in the top ``k``."""
    relevant = {doc for doc, score in judged.items() if score > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


# ---------------------------------------------------------------------------- running


@dataclass(frozen=True)
class QueryScores:
    """One query's figures for one method."""

    ndcg: float
    mrr: float
    recall: float
    ranked: tuple[str, ...] = ()


@dataclass(frozen=True)
class MethodScores:
    """Macro-averaged figures of one retrieval method over the judged queries."""

    method: str
    ndcg_at_10: float
    mrr_at_10: float
    recall: float
    recall_depth: int
    queries: int
    ms_per_query: float
    per_query: dict[str, QueryScores] = field(default_factory=dict, repr=False)

    def subset(self, query_ids: Iterable[str]) -> MethodScores:
        """The same method's figures over some of its queries (e.g. a held-out half)."""
        picked = {q: self.per_query[q] for q in query_ids if q in self.per_query}
        return replace(self, per_query=picked, queries=len(picked), **_means(picked.values()))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "ndcg@10": round(self.ndcg_at_10, 4),
            "mrr@10": round(self.mrr_at_10, 4),
            f"recall@{self.recall_depth}": round(self.recall, 4),
            "queries": self.queries,
            "ms_per_query": round(self.ms_per_query, 2),
        }


def _means(scores: Iterable[QueryScores]) -> dict[str, float]:
    items = list(scores)
    if not items:
        return {"ndcg_at_10": 0.0, "mrr_at_10": 0.0, "recall": 0.0}
    return {
        "ndcg_at_10": float(np.mean([s.ndcg for s in items])),
        "mrr_at_10": float(np.mean([s.mrr for s in items])),
        "recall": float(np.mean([s.recall for s in items])),
    }


@dataclass(frozen=True)
class EvalReport:
    """Every method's figures on one labelled set, with what was indexed and how long it took."""

    methods: list[MethodScores]
    records: int
    passages: int
    queries: int  # judged queries, the ones averaged over
    unjudged_queries: int  # queries without a relevant judgement: not evaluated
    embedding_model: str
    index_seconds: float
    query_embedding_ms: float  # per query, not included in the methods' ms_per_query

    def method(self, name: str) -> MethodScores:
        return next(m for m in self.methods if m.method == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "passages": self.passages,
            "queries": self.queries,
            "unjudged_queries": self.unjudged_queries,
            "embedding_model": self.embedding_model,
            "index_seconds": round(self.index_seconds, 2),
            "query_embedding_ms": round(self.query_embedding_ms, 2),
            "methods": [m.to_json() for m in self.methods],
        }


def fusion_for(method: str, base: FusionConfig | None = None) -> FusionConfig:
    """The fusion settings that make :meth:`KnowledgeBase.search` rank by ``method`` alone."""
    base = base or FusionConfig()
    if method == "hybrid":
        return base
    if method == "dense":
        return replace(base, sparse_weight=0.0)
    if method == "bm25":
        # coverage ** 0 == 1: BM25's own order, ungated.
        return replace(base, dense_weight=0.0, sparse_weight=1.0, coverage_power=0.0)
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


class _ReportingEmbedder:
    """Passes passages to the real embedder in batches and reports how many are done."""

    def __init__(self, inner: EmbedderLike, report: ProgressCallback, total: int) -> None:
        self._inner = inner
        self._report = report
        self._total = total
        self._done = 0

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._inner.embed_queries(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._inner.embed_query(text)

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        batch = 128
        parts = []
        for start in range(0, len(texts), batch):
            parts.append(self._inner.embed_passages(texts[start : start + batch]))
            self._done += len(parts[-1])
            self._report("embed", min(self._done, self._total), self._total)
        if not parts:
            return self._inner.embed_passages([])
        return np.concatenate(parts)


@contextmanager
def throwaway_knowledge_base(
    records: Sequence[Record],
    embedder: EmbedderLike,
    name: str = "eval",
    *,
    fusion: FusionConfig | None = None,
    on_progress: ProgressCallback | None = None,
) -> Iterator[KnowledgeBase]:
    """A knowledge base holding ``records`` in a temporary folder, deleted on exit.

    It never touches the app's data: its Chroma database lives in a fresh temporary folder.
    """
    passages = sum(len(build_document(r).passages) for r in records)
    used: EmbedderLike = embedder
    if on_progress is not None:
        on_progress("embed", 0, passages)
        used = _ReportingEmbedder(embedder, on_progress, passages)
    with tempfile.TemporaryDirectory(prefix="siyu-kb-eval-") as folder:
        kb = open_knowledge_base(Path(folder), name, used, fusion=fusion)
        kb.sync(records)
        yield kb


def evaluate_kb(
    kb: KnowledgeBase,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    methods: Sequence[str] = METHODS,
    k: int = 100,
    corpus_ids: Mapping[str, str] | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[list[MethodScores], float]:
    """Search every judged query with each method; figures per method and query-embedding ms.

    Each query is embedded once (timed on its own) and then searched by every method with the
    vector cached, so ``ms_per_query`` is the knowledge base's own work per method.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    configs = {m: fusion_for(m, kb.fusion) for m in methods}
    depth = max(k, NDCG_DEPTH, MRR_DEPTH)
    corpus_ids = corpus_ids or {}
    judged = {
        qid: text
        for qid, text in queries.items()
        if any(s > 0 for s in qrels.get(qid, {}).values())
    }
    per_query: dict[str, dict[str, QueryScores]] = {m: {} for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    embedding_seconds = 0.0
    for done, (qid, text) in enumerate(judged.items(), start=1):
        started = time.perf_counter()
        kb.embedder.embed_query(text.strip())
        embedding_seconds += time.perf_counter() - started
        # Rotating the order spreads warm-cache effects evenly over the methods' timings.
        for method in (*methods[done % len(methods) :], *methods[: done % len(methods)]):
            started = time.perf_counter()
            hits = kb.search(text, k=depth, fusion=configs[method])
            seconds[method] += time.perf_counter() - started
            ranked = tuple(corpus_ids.get(h.id, h.id) for h in hits)
            judgement = qrels[qid]
            per_query[method][qid] = QueryScores(
                ndcg=ndcg_at(ranked, judgement),
                mrr=mrr_at(ranked, judgement),
                recall=recall_at(ranked, judgement, k),
                ranked=ranked,
            )
        if on_progress is not None:
            on_progress("search", done, len(judged))
    count = max(1, len(judged))
    results = [
        MethodScores(
            method=m,
            recall_depth=k,
            queries=len(per_query[m]),
            ms_per_query=1000 * seconds[m] / count,
            per_query=per_query[m],
            **_means(per_query[m].values()),
        )
        for m in methods
    ]
    return results, 1000 * embedding_seconds / count


def evaluate(
    beir: BeirSet,
    embedder: EmbedderLike,
    *,
    methods: Sequence[str] = METHODS,
    k: int = 100,
    kb_name: str = "eval",
    fusion: FusionConfig | None = None,
    on_progress: ProgressCallback | None = None,
) -> EvalReport:
    """Index ``beir``'s corpus in a throw-away knowledge base and score every method."""
    for method in methods:
        fusion_for(method)  # unknown names fail before the slow part
    started = time.perf_counter()
    with throwaway_knowledge_base(
        beir.records, embedder, kb_name, fusion=fusion, on_progress=on_progress
    ) as kb:
        index_seconds = time.perf_counter() - started
        stats = kb.stats()
        scores, embedding_ms = evaluate_kb(
            kb,
            beir.queries,
            beir.qrels,
            methods=methods,
            k=k,
            corpus_ids=beir.corpus_ids,
            on_progress=on_progress,
        )
    judged = len(beir.judged_queries)
    return EvalReport(
        methods=scores,
        records=stats.records,
        passages=stats.passages,
        queries=judged,
        unjudged_queries=len(beir.queries) - judged,
        embedding_model=embedder.model_name,
        index_seconds=index_seconds,
        query_embedding_ms=embedding_ms,
    )
