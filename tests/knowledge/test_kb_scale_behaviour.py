"""The knowledge base's scale machinery, without the model: filter columns, BM25 slots, the
in-memory dense index (exact and reduced scan), stored tokens, incremental writes.
Fast by design."""

from __future__ import annotations

import math
import random
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.knowledge import base as base_module
from assistant.knowledge import dense as dense_module
from assistant.knowledge import rows
from assistant.knowledge.base import KnowledgeBase, open_knowledge_base
from assistant.knowledge.dense import DenseIndex
from assistant.knowledge.documents import build_document
from assistant.knowledge.filters import MetadataColumns, matches
from assistant.knowledge.fusion import FusionConfig
from assistant.knowledge.schema import Faq, Product, Record
from assistant.knowledge.sparse import BM25Index, tokenize, tokenizer_fingerprint

# ---------------------------------------------------------------------------- filter columns

KEYS = ["kind", "price", "in_stock", "skin_oily", "category", "channel", "stock"]
VALUES: list[object] = [True, False, 0, 1, 1.0, 2.5, 100, "serum", "faq", "1", "tmall", ""]


def random_meta(rng: random.Random) -> dict:
    return {k: rng.choice(VALUES) for k in KEYS if rng.random() < 0.7}


def random_where(rng: random.Random, depth: int = 0) -> dict:
    roll = rng.random()
    if depth < 2 and roll < 0.2:
        return {rng.choice(["$and", "$or"]): [random_where(rng, depth + 1) for _ in range(2)]}
    key = rng.choice([*KEYS, "absent"])
    op = rng.choice(["plain", "$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte"])
    if op == "plain":
        return {key: rng.choice(VALUES)}
    if op in ("$in", "$nin"):
        return {key: {op: rng.sample(VALUES, 3)}}
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return {key: {op: rng.choice([0, 1, 2.5, 100])}}
    return {key: {op: rng.choice(VALUES)}}


def test_columns_agree_with_matches_on_random_clauses() -> None:
    rng = random.Random(3)
    columns = MetadataColumns()
    metas: dict[int, dict] = {}
    for slot in range(300):
        metas[slot] = random_meta(rng)
        columns.set(slot, metas[slot])
    for slot in rng.sample(range(300), 60):  # replaced and deleted slots must not leak values
        if rng.random() < 0.5:
            columns.clear(slot)
            del metas[slot]
        else:
            metas[slot] = random_meta(rng)
            columns.set(slot, metas[slot])
    for _ in range(400):
        where = random_where(rng)
        mask = columns.mask(where)
        expected = {s for s, m in metas.items() if matches(where, m)}
        assert set(np.flatnonzero(mask)) == expected, where
    assert set(np.flatnonzero(columns.mask(None))) == set(metas)


def test_columns_bulk_load_equals_one_by_one() -> None:
    rng = random.Random(5)
    metas = [random_meta(rng) for _ in range(200)]
    one, bulk = MetadataColumns(), MetadataColumns()
    for slot, meta in enumerate(metas):
        one.set(slot, meta)
    bulk.set_many(list(range(200)), metas)
    for _ in range(100):
        where = random_where(rng)
        a, b = one.mask(where), bulk.mask(where)  # capacities may differ: compare the slots
        assert np.array_equal(a[:200], b[:200]) and not a[200:].any() and not b[200:].any()


# ---------------------------------------------------------------------------- BM25


class ReferenceBM25:
    """The former dict-of-dicts BM25 (recompiled per search), as the oracle for scores."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf: dict[str, Counter[str]] = {}

    def upsert(self, doc_id: str, text: str) -> None:
        self.tf.pop(doc_id, None)
        self.tf[doc_id] = Counter(tokenize(text))

    def delete(self, doc_id: str) -> None:
        self.tf.pop(doc_id, None)

    def search(self, query: str, k: int, allow: Callable[[str], bool] | None = None) -> list:
        terms = list(dict.fromkeys(tokenize(query)))
        ids = list(self.tf)
        n = len(ids)
        lengths = np.array([sum(self.tf[d].values()) for d in ids], dtype=np.float32)
        avgdl = float(lengths.sum()) / n if n else 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths / max(avgdl, 1e-9))
        scores = np.zeros(n, dtype=np.float32)
        for term in terms:
            rows_ = [i for i, d in enumerate(ids) if term in self.tf[d]]
            if not rows_:
                continue
            idf = math.log(1 + (n - len(rows_) + 0.5) / (len(rows_) + 0.5))
            tf = np.array([self.tf[ids[i]][term] for i in rows_], dtype=np.float32)
            scores[rows_] += (idf * tf * (self.k1 + 1) / (tf + norm[rows_])).astype(np.float32)
        order = np.flatnonzero(scores > 0)
        order = order[np.argsort(-scores[order], kind="stable")]
        out = [(ids[i], float(scores[i])) for i in order if allow is None or allow(ids[i])]
        return out[:k]


WORDS = ["精华", "面霜", "油皮", "干皮", "敏感肌", "维C", "烟酰胺", "防晒", "黑头"]
WORDS += ["serum", "cream", "oily", "dry", "skin", "mask", "toner"]


def test_bm25_matches_the_reference_through_updates() -> None:
    rng = random.Random(11)
    ours, ref = BM25Index(), ReferenceBM25()
    for step in range(400):
        doc_id = f"d{rng.randrange(60)}"
        if rng.random() < 0.2:
            ours.delete(doc_id)
            ref.delete(doc_id)
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12)))
            ours.upsert(doc_id, text)
            ref.upsert(doc_id, text)
        if step % 20 == 0:
            for query in ("油皮 精华", "dry skin cream", "维C", "黑头 toner mask", "无关"):
                assert ours.search(query, 7) == ref.search(query, 7), query
                keep = {f"d{i}" for i in range(0, 60, 3)}
                mask = np.zeros(ours.capacity, dtype=bool)
                for doc_id in keep:
                    slot = ours.slot(doc_id)
                    if slot is not None:
                        mask[slot] = True
                expected = ref.search(query, 5, allow=keep.__contains__)
                assert ours.search(query, 5, mask=mask) == expected
                assert ours.search(query, 5, allow=keep.__contains__) == expected
    assert len(ours) == len(ref.tf)
    assert ours.vocabulary_size == len({t for tf in ref.tf.values() for t in tf})


def test_bm25_slots_are_stable_and_reused() -> None:
    index = BM25Index()
    first = index.upsert_tokens("a", ["精华"])
    assert index.upsert_tokens("a", ["面霜"]) == first  # replacing keeps the slot
    index.upsert_tokens("b", ["精华"])
    index.delete("a")
    assert index.slot("a") is None
    assert index.upsert_tokens("c", ["精华"]) == first  # a freed slot is reused
    assert [i for i, _ in index.search("精华", 5)] == ["b", "c"]  # ties: write order


# ---------------------------------------------------------------------------- dense index


def unit_rows(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_dense_exact_search_equals_brute_force() -> None:
    rng = np.random.default_rng(0)
    index = DenseIndex(16)
    vectors = unit_rows(rng, 300)
    ids = [f"r{i}" for i in range(300)]
    langs = ["zh" if i % 3 else "en" for i in range(300)]
    slots = [i // 2 for i in range(300)]
    index.upsert(ids, langs, vectors, slots)
    index.delete(ids[:30])  # freed rows must never come back
    live = list(range(30, 300))
    mask = np.zeros(150, dtype=bool)
    mask[::4] = True
    query = unit_rows(rng, 1)[0]
    for lang in ("zh", "en"):
        for slot_mask in (None, mask):
            picked = [
                i for i in live if langs[i] == lang and (slot_mask is None or slot_mask[slots[i]])
            ]
            scores = vectors[picked] @ query
            expected = [ids[picked[j]] for j in np.argsort(-scores)[:10]]
            got = index.search(query, lang, 10, slot_mask)
            assert [r for r, _ in got] == expected
            assert [s for _, s in got] == pytest.approx(sorted(scores, reverse=True)[:10])
    centroid = index.centroid("zh")
    zh = [i for i in live if langs[i] == "zh"]
    assert centroid == pytest.approx(vectors[zh].mean(axis=0), abs=1e-5)
    assert set(index.vectors(["r0", "r40"])) == {"r40"}
    assert index.counts() == {"zh": len(zh), "en": len(live) - len(zh)}


MIXING = np.random.default_rng(9).normal(size=(16, 64))


def clustered(rng: np.random.Generator, n: int) -> np.ndarray:
    """Vectors like sentence embeddings: most variance in a few directions, clumped."""
    centres = rng.normal(size=(40, 16))
    latent = centres[rng.integers(0, 40, n)] + 0.5 * rng.normal(size=(n, 16))
    v = latent @ MIXING + 0.3 * rng.normal(size=(n, 64))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_dense_reduced_scan_recall_and_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense_module, "EXACT_LIMIT", 1000)
    monkeypatch.setattr(dense_module, "REDUCED_DIMENSIONS", 24)
    monkeypatch.setattr(dense_module, "RERANK_MIN", 100)
    monkeypatch.setattr(dense_module, "GATHER_LIMIT", 200)
    rng = np.random.default_rng(1)
    n = 6000
    vectors = clustered(rng, n)
    ids = [f"r{i}" for i in range(n)]
    index = DenseIndex(64)
    index.upsert(ids, ["zh"] * n, vectors, list(range(n)))
    assert index._languages["zh"].reduced is not None  # above the exact limit
    queries = clustered(rng, 50)
    recall = []
    for q in queries:
        exact = set(np.argsort(-(vectors @ q))[:20])
        got = {int(r[1:]) for r, _ in index.search(q, "zh", 20)}
        recall.append(len(exact & got) / 20)
    assert np.mean(recall) >= 0.95
    # Cosines come from the full vectors, best first.
    hits = index.search(queries[0], "zh", 5)
    assert [s for _, s in hits] == pytest.approx(
        [float(vectors[int(r[1:])] @ queries[0]) for r, _ in hits], abs=1e-5
    )
    # A filter is honoured exactly: strict ones are searched exactly over the passing rows.
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, 150, replace=False)] = True
    for q in queries[:10]:
        got = index.search(q, "zh", 10, mask)
        allowed = np.flatnonzero(mask)
        expected = [f"r{allowed[j]}" for j in np.argsort(-(vectors[allowed] @ q))[:10]]
        assert [r for r, _ in got] == expected
    wide = rng.random(n) < 0.5
    for q in queries[:10]:
        assert all(wide[int(r[1:])] for r, _ in index.search(q, "zh", 10, wide))
    # Rows added or replaced later are projected too, and found.
    extra = clustered(rng, 10)
    index.upsert([f"x{i}" for i in range(10)], ["zh"] * 10, extra, [n + i for i in range(10)])
    assert index.search(extra[3], "zh", 1)[0][0] == "x3"
    index.upsert(["r7"], ["zh"], extra[5:6], [7])
    assert {r for r, _ in index.search(extra[5], "zh", 2)} == {"r7", "x5"}
    # Shrinking below the exact limit drops the projection again.
    index.delete(ids[:5500])
    assert index._languages["zh"].reduced is None
    assert index.search(extra[5], "zh", 1)[0][0] in {"r7", "x5"}


# ---------------------------------------------------------------------------- the knowledge base


class HashEmbedder:
    """Deterministic stand-in for the model: character-bigram vectors, zh and en apart."""

    model_name = "hash-embedder"
    dimension = 48

    def __init__(self) -> None:
        self.passages_embedded = 0
        self._proj = np.random.default_rng(0).normal(size=(997, self.dimension))

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension)
        for a, b in zip(text, text[1:], strict=False):
            v += self._proj[zlib.crc32((a + b).encode()) % 997]  # stable across runs
        v += self._proj[0] * 3 * (sum(ord(c) > 0x3000 for c in text) > len(text) / 3)
        return (v / (np.linalg.norm(v) or 1)).astype(np.float32)

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        self.passages_embedded += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, 48))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


def catalogue(n: int = 40) -> list[Record]:
    out: list[Record] = []
    cats = ["serum", "moisturizer", "cleanser", "sunscreen"]
    for i in range(n):
        out.append(
            Product(
                id=f"P-{i:03d}",
                name_zh=f"测试{['维C', '烟酰胺', '玻尿酸', '积雪草'][i % 4]}{i}号",
                name_en=f"Test {['Vitamin C', 'Niacinamide', 'Hyaluronic', 'Centella'][i % 4]} "
                f"No.{i}",
                category=cats[i % 4],
                price=50 + 10 * i,
                skin_types=[["oily"], ["dry"], ["sensitive", "dry"], ["combination"]][i % 4],
                stock=0 if i % 7 == 0 else 10,
                description_zh=f"第{i}款，适合日常使用。",
                description_en=f"Product number {i}, for every day.",
            )
        )
    out.append(
        Faq(
            id="F-1",
            category="shipping",
            question_zh="多久发货?",
            question_en="When do you ship?",
            answer_zh="付款后48小时内发货。",
            answer_en="Within 48 hours of payment.",
        )
    )
    return out


@pytest.fixture
def kb_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "kb"


def ids(hits: list) -> list[str]:
    return [h.id for h in hits]


def test_writes_are_searchable_at_once_and_filters_apply(kb_dir: Path) -> None:
    kb = open_knowledge_base(kb_dir, "scale", HashEmbedder())
    kb.sync(catalogue())
    renamed = catalogue()[5].model_copy(update={"name_zh": "夜光藻限定精华", "stock": 0})
    report = kb.upsert([renamed])
    assert report.updated == ("P-005",) and report.embedded == 1
    assert ids(kb.search("夜光藻限定精华", k=3))[0] == "P-005"
    assert "P-005" in ids(kb.search("夜光藻限定精华", k=5, filters={"in_stock": False}))
    assert "P-005" not in ids(kb.search("夜光藻限定精华", k=5, filters={"in_stock": True}))
    for hit in kb.search("精华", k=10, filters={"price_max": 150, "skin_type": "dry"}):
        assert hit.metadata["price"] <= 150 and hit.metadata["skin_dry"] is True
    # Metadata-only edits (stock) need no embedding and reach both retrievers.
    restocked = renamed.model_copy(update={"stock": 5})
    assert kb.upsert([restocked]).embedded == 0
    for fusion in (None, FusionConfig.dense_only(), FusionConfig(dense_weight=0, sparse_weight=1)):
        found = ids(kb.search("夜光藻限定精华", k=5, filters={"in_stock": True}, fusion=fusion))
        assert "P-005" in found
    kb.delete(["P-005"])
    assert "P-005" not in ids(kb.search("夜光藻限定精华", k=10))
    stats = kb.stats()
    assert stats.records == 40 and stats.by_kind == {"faq": 1, "product": 39}
    assert stats.passages == 2 * 40


def test_reload_uses_stored_tokens_and_finds_the_same(
    kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = HashEmbedder()
    kb = open_knowledge_base(kb_dir, "scale", embedder)
    kb.sync(catalogue())
    stored = kb.store.get()
    first_rows = [m for m in stored.metadatas if rows.RECORD_JSON in m]
    assert len(first_rows) == 41
    assert all(
        rows.decode_tokens(m[rows.TOKENS], tokenizer_fingerprint()) is not None for m in first_rows
    )
    queries = ["维C精华", "dry skin", "发货", "Centella No.7"]
    before = [ids(kb.search(q, k=8)) for q in queries]

    def no_tokenizing(text: str) -> list[str]:
        raise AssertionError("reload cut text although tokens are stored")

    monkeypatch.setattr(base_module, "tokenize", no_tokenizing)
    reopened = open_knowledge_base(kb_dir, "scale", embedder)
    monkeypatch.undo()
    assert [ids(reopened.search(q, k=8)) for q in queries] == before
    assert reopened.stats().sparse_terms == kb.stats().sparse_terms


def test_tokens_missing_from_an_older_store_are_written_by_the_next_sync(
    kb_dir: Path,
) -> None:
    embedder = HashEmbedder()
    kb = open_knowledge_base(kb_dir, "scale", embedder)
    records = catalogue()
    kb.sync(records)
    first = [r for r, m in zip(*_rows_and_metas(kb), strict=True) if rows.RECORD_JSON in m]
    kb.store.update_metadata(first, [{rows.TOKENS: None}] * len(first))  # as an old layout
    assert all(rows.TOKENS not in m for m in kb.store.get(first).metadatas)
    reopened = open_knowledge_base(kb_dir, "scale", embedder)
    assert len(reopened._unstored_tokens) == len(records)
    assert ids(reopened.search("维C精华", k=5)) == ids(kb.search("维C精华", k=5))
    report = reopened.sync(records)
    assert report.embedded == 0 and not report.changed
    assert all(rows.TOKENS in m for m in reopened.store.get(first).metadatas)
    assert not reopened._unstored_tokens


def _rows_and_metas(kb: KnowledgeBase) -> tuple[list[str], list[dict]]:
    stored = kb.store.get()
    return stored.ids, stored.metadatas


def test_repeated_sync_skips_rebuilding_unchanged_records(
    kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = open_knowledge_base(kb_dir, "scale", HashEmbedder())
    records = catalogue()
    kb.sync(records)
    built: list[str] = []

    def counting(record: Record):  # type: ignore[no-untyped-def]
        built.append(record.id)
        return build_document(record)

    monkeypatch.setattr(base_module, "build_document", counting)
    edited = [r.model_copy(update={"price": 999}) if r.id == "P-001" else r for r in records]
    report = kb.sync(edited)
    assert report.updated == ("P-001",) and built == ["P-001"]
    # After a restart each record is checked once against the model, then skipped again.
    reopened = open_knowledge_base(kb_dir, "scale", kb.embedder)
    built.clear()
    assert not reopened.sync(edited).changed and len(built) == len(edited)
    built.clear()
    assert not reopened.sync(edited).changed and built == []


def test_policy_rows_and_vectors_follow_record_changes(kb_dir: Path) -> None:
    embedder = HashEmbedder()
    kb = open_knowledge_base(kb_dir, "scale", embedder)
    records = catalogue(8)
    kb.sync(records)
    dense = kb._dense
    assert len(dense) == sum(len(build_document(r).passages) for r in records)
    zh_only = records[2].model_copy(update={"name_en": "", "description_en": ""})
    kb.upsert([zh_only])
    assert "P-002#en" not in dense and "P-002#zh" in dense
    assert len(dense) == kb.stats().passages


def test_unreadable_stored_record_is_rewritten_by_the_next_sync(kb_dir: Path) -> None:
    embedder = HashEmbedder()
    records = catalogue(6)
    kb = open_knowledge_base(kb_dir, "scale", embedder)
    kb.sync(records)
    first = [r for r, m in zip(*_rows_and_metas(kb), strict=True) if m.get("record_id") == "P-003"]
    first = [r for r in first if rows.RECORD_JSON in kb.store.get([r]).metadatas[0]]
    kb.store.update_metadata(first, [{rows.RECORD_JSON: "{not json"}])
    reopened = open_knowledge_base(kb_dir, "scale", embedder)
    assert reopened.get("P-003") is None and len(reopened) == len(records) - 1
    assert "P-003" not in ids(reopened.search("测试积雪草3号", k=10))
    report = reopened.sync(records)
    assert report.added == ("P-003",)
    assert ids(reopened.search("测试积雪草3号", k=1)) == ["P-003"]
    assert len(reopened._dense) == reopened.stats().passages == 2 * len(records)


def test_stock_edits_keep_tokens_and_postings(
    kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = HashEmbedder()
    records = catalogue(10)
    kb = open_knowledge_base(kb_dir, "scale", embedder)
    kb.sync(records)
    for reopen in (False, True):  # with hashes known, and right after a restart
        if reopen:
            kb = open_knowledge_base(kb_dir, "scale", embedder)
        cut: list[str] = []

        def counting(text: str, cut: list[str] = cut) -> list[str]:
            cut.append(text)
            return tokenize(text)

        monkeypatch.setattr(base_module, "tokenize", counting)
        stock = 3 if reopen else 2
        edited = [r.model_copy(update={"stock": stock}) if r.id == "P-004" else r for r in records]
        assert kb.sync(edited).updated == ("P-004",)
        monkeypatch.undo()
        assert cut == []  # no text changed: nothing cut again
        assert "P-004" in ids(kb.search("测试维C4号", k=3, filters={"in_stock": True}))
    stored = kb.store.get([r for r in kb.store.get().ids if r.startswith("P-004#")])
    first = [m for m in stored.metadatas if rows.RECORD_JSON in m]
    assert rows.decode_tokens(first[0][rows.TOKENS], tokenizer_fingerprint())
