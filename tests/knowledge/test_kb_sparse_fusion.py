"""BM25 tokens and ranking, weighted RRF, and filters (Chroma where vs. the BM25-side evaluator)."""

from __future__ import annotations

from datetime import date

import chromadb
import numpy as np
import pytest

from assistant.knowledge.chroma_ef import SiyuEmbeddingFunction
from assistant.knowledge.documents import base_metadata
from assistant.knowledge.filters import FilterError, build_where, matches
from assistant.knowledge.fusion import FusionConfig, weighted_rrf
from assistant.knowledge.sparse import BM25Index, tokenize


def test_tokenize_mixed_chinese_english() -> None:
    assert tokenize("敏感肌能用的维C") == ["敏感", "敏感肌", "维c"]
    assert "烟酰胺" in tokenize("澜屿烟酰胺亮肤精华")
    assert tokenize("What SERUMS are good for Oily skin?") == ["serum", "oily", "skin"]
    assert tokenize("ＶＣ精华，30ml！") == ["vc", "精华", "30ml"]  # full-width folded
    assert tokenize("的了吗？！") == []


def make_index() -> BM25Index:
    index = BM25Index()
    index.upsert("vc", "澜屿维C焕亮精华 LANYU Vitamin C Glow Serum 提亮 暗沉")
    index.upsert("retinol", "澜屿A醇抗老精华 LANYU Retinol Renewal Serum 抗老 细纹")
    index.upsert("cleanser", "澜屿氨基酸洁面 LANYU Amino Acid Cleanser 洗面奶 油皮")
    index.upsert("faq", "多久发货 When do you ship 付款后48小时内发货")
    return index


def test_bm25_finds_exact_names_and_terms() -> None:
    index = make_index()
    assert index.search("A醇抗老精华")[0][0] == "retinol"
    assert index.search("Amino Acid Cleanser")[0][0] == "cleanser"
    assert index.search("发货")[0][0] == "faq"
    assert index.search("vitamin c serums")[0][0] == "vc"
    assert index.search("完全无关的词") == []
    hits = index.search("精华")
    assert {doc_id for doc_id, _ in hits} == {"vc", "retinol"}
    assert all(score > 0 for _, score in hits)


def test_bm25_updates_and_filters() -> None:
    index = make_index()
    index.upsert("vc", "澜屿补水面膜 hydrating mask")  # replaced, old terms gone
    assert all(doc_id != "vc" for doc_id, _ in index.search("维C"))
    assert index.search("面膜")[0][0] == "vc"
    index.delete("retinol")
    assert index.search("A醇") == []
    assert len(index) == 3
    assert index.search("澜屿", k=10, allow=lambda i: i != "cleanser") == [
        (i, s) for i, s in index.search("澜屿", k=10) if i != "cleanser"
    ]
    assert len(index.search("澜屿", k=1)) == 1


def test_weighted_rrf_dense_leads() -> None:
    config = FusionConfig(dense_weight=1.0, sparse_weight=0.5, k=60)
    fused = weighted_rrf(["a", "b", "c"], ["c", "d"], config)
    ids = [i for i, _ in fused]
    # c is in both lists, so it gains; the dense-only a still beats the sparse-only d.
    assert ids[0] == "c" or ids[0] == "a"
    assert ids.index("a") < ids.index("d")
    assert fused[0][1] == pytest.approx(max(1 / 61, 1 / 63 + 0.5 / 61))
    # With BM25 switched off the dense order is untouched.
    off = weighted_rrf(["a", "b"], ["b", "z"], FusionConfig(sparse_weight=0.0))
    assert [i for i, _ in off] == ["a", "b"]
    # Equal weights: a tie keeps the dense order.
    tie = weighted_rrf(["a", "b"], ["b", "a"], FusionConfig(sparse_weight=1.0))
    assert [i for i, _ in tie] == ["a", "b"]
    with pytest.raises(ValueError):
        FusionConfig(dense_weight=0, sparse_weight=0)


def test_bm25_votes_are_gated_by_query_coverage() -> None:
    index = make_index()
    cover = index.coverage("Amino Acid Cleanser", ["cleanser", "vc"])
    assert cover["cleanser"] == pytest.approx(1.0) and cover["vc"] == 0.0
    # One common word out of a longer question: small coverage ("薰衣草" is in no document).
    partial = index.coverage("薰衣草精华", ["vc"])["vc"]
    assert 0 < partial < 0.5

    config = FusionConfig(dense_weight=1.0, sparse_weight=1.0, k=10, coverage_power=2)
    dense, sparse = ["a", "b"], ["b"]
    assert weighted_rrf(dense, sparse, config, {"b": 1.0})[0][0] == "b"
    assert weighted_rrf(dense, sparse, config, {"b": 0.2})[0][0] == "a"
    off = FusionConfig.dense_only()
    assert [i for i, _ in weighted_rrf(["a"], ["z"], off, {"z": 1.0})] == ["a"]


def test_build_where_translates_shopper_filters() -> None:
    assert build_where() is None
    assert build_where({"category": "Serum"}) == {"category": "serum"}
    where = build_where(
        {
            "category": "serum",
            "price_max": 200,
            "skin_type": "oily",
            "in_stock": True,
            "exclude_contraindications": ["pregnancy"],
        },
        kinds=["product"],
    )
    assert where == {
        "$and": [
            {"kind": "product"},
            {"category": "serum"},
            {"price": {"$lte": 200.0}},
            {"skin_oily": True},
            {"in_stock": True},
            {"contra_pregnancy": {"$ne": True}},
        ]
    }
    assert build_where({"concern": ["acne", "pores"]}) == {
        "$or": [{"concern_acne": True}, {"concern_pores": True}]
    }
    with pytest.raises(FilterError):
        build_where({"price_maximum": 100})
    with pytest.raises(FilterError):
        build_where({"skin_type": "greasy"})
    with pytest.raises(FilterError):
        build_where({"in_stock": "yes"})
    assert build_where({"channel": "tmall"}, metadata_keys={"channel"}) == {"channel": "tmall"}


def product_meta(**values: object) -> dict:
    meta = base_metadata("product")
    meta.update(values)  # type: ignore[arg-type]
    return meta


METAS = {
    "serum-oily": product_meta(category="serum", price=168.0, in_stock=True, skin_oily=True),
    "serum-preg": product_meta(
        category="serum", price=268.0, in_stock=False, skin_oily=True, contra_pregnancy=True
    ),
    "cream": product_meta(category="moisturizer", price=129.0, in_stock=True, skin_oily=False),
    "faq": base_metadata("faq") | {"category": "shipping"},
    "promo": base_metadata("promotion") | {"starts": 20251101, "ends": 20251111},
}

FILTER_CASES = [
    ({"category": "serum"}, None),
    ({"price_max": 200}, None),
    ({"price_min": 150, "price_max": 300}, None),
    ({"skin_type": "oily"}, None),
    ({"in_stock": True}, None),
    ({"exclude_contraindications": ["pregnancy"]}, None),
    ({"exclude_contraindications": ["pregnancy", "sensitive"]}, ["product", "faq"]),
    ({"category": ["serum", "moisturizer"], "in_stock": True}, None),
    ({"active_on": date(2025, 11, 5)}, None),
    ({"active_on": "2025-12-01"}, None),
    ({}, ["faq"]),
]


@pytest.mark.parametrize(("filters", "kinds"), FILTER_CASES)
def test_bm25_side_filter_agrees_with_chroma(filters: dict, kinds: list[str] | None) -> None:
    client = chromadb.EphemeralClient()
    name = f"kb_filters_{abs(hash(str(filters) + str(kinds)))}"
    collection = client.create_collection(
        name,
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=SiyuEmbeddingFunction(),  # never called: vectors are passed in
    )
    ids = list(METAS)
    collection.add(
        ids=ids,
        embeddings=np.eye(len(ids), 8, dtype=np.float32),
        metadatas=[METAS[i] for i in ids],
    )
    where = build_where(filters, kinds)
    from_chroma = set(collection.get(where=where)["ids"]) if where else set(ids)
    ours = {i for i in ids if matches(where, METAS[i])}
    assert ours == from_chroma
    client.delete_collection(name)
