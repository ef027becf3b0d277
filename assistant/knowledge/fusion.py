"""Coverage-gated reciprocal-rank fusion of the dense and BM25 rankings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FusionConfig:
    """Settings for hybrid ranking: :func:`weighted_rrf` and the dense side's language centring.

    Plain RRF lost to dense retrieval alone on Chinese product search (MODELS.md), because a
    BM25 match on one common word of a question ("oil") outvoted the dense ranking. Here each
    BM25 vote is scaled by how much of the query the record actually contains (``coverage **
    coverage_power``, IDF-weighted): a record matching one word of a sentence-long question
    gets a fraction of a vote, an exact name the full vote. The gate also keeps records that
    only the dense side can find (written in the other language than the query) in front. BM25
    is not weaker than dense on our catalogue, whose BM25 text carries the vocabulary's
    synonyms in both languages, so its gated vote counts as much as a dense one.

    Tuned with ``benchmarks/kb_quality.py --tune`` on the odd-numbered half of the labelled
    demo set (benchmarks/data: 205 zh and 147 en shopper queries with graded judgements),
    over the demo catalogue and a mixed copy of it (a third of the records Chinese-only, a
    third English-only). Objective: mean nDCG@10; constraints: hybrid above dense and BM25
    alone everywhere, and what tests/knowledge/test_kb_search.py demands. On the held-out
    half, nDCG@10 (demo catalogue):

    ===========================================  ======  ======
    ranking                                      zh      en
    ===========================================  ======  ======
    dense only (language-centred)                0.816   0.828
    BM25 only                                    0.814   0.865
    RRF 1.0 / 0.5, k=10, coverage ** 2 (before)  0.861   0.867
    RRF 1.0 / 1.0, k=5, coverage ** 1 (used)     0.881   0.902
    ===========================================  ======  ======

    Many settings come within 0.005 of the best on the tuning half (docs/benchmarks.md); the
    binding constraint was the test that a one-language record stays first for a query in the
    other language, which a small ``k`` (the top dense rank counts more) keeps.
    """

    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    # A small k makes top ranks count: a record the dense side ranks first keeps its lead
    # unless BM25 also ranks a rival high with most of the query matched.
    k: float = 5.0
    coverage_power: float = 1.0
    # Dense ranking subtracts this share of the query's similarity to each passage language's
    # centroid. multilingual-e5-small scores any same-language passage above a matching
    # passage in the other language (a zh query put an English-only product at rank 73 of 171;
    # centred, at rank 1), so without it a record written in one language is unreachable
    # from the other. On the bilingual demo catalogue it costs little (dense zh MRR 0.864 ->
    # 0.855, en 0.785 -> 0.794).
    language_centering: float = 1.0
    # How many candidates each retriever contributes before fusion, as a multiple of the hits
    # asked for (with a floor): ranks beyond this carry almost no RRF weight anyway.
    pool_factor: int = 4
    min_pool: int = 20

    def __post_init__(self) -> None:
        if min(self.dense_weight, self.sparse_weight) < 0:
            raise ValueError("fusion weights must be >= 0")
        if self.dense_weight == 0 and self.sparse_weight == 0:
            raise ValueError("at least one fusion weight must be > 0")
        if self.k < 0 or self.coverage_power < 0:
            raise ValueError("k and coverage_power must be >= 0")
        if not 0 <= self.language_centering <= 1:
            raise ValueError("language_centering must be within 0..1")

    def pool(self, k: int) -> int:
        return max(k * self.pool_factor, self.min_pool)

    @classmethod
    def dense_only(cls) -> FusionConfig:
        """The dense ranking alone (BM25 ignored)."""
        return cls(sparse_weight=0.0)


def weighted_rrf(
    dense: Sequence[str],
    sparse: Sequence[str],
    config: FusionConfig | None = None,
    coverage: Mapping[str, float] | None = None,
) -> list[tuple[str, float]]:
    """Fuse two best-first id lists into ``(id, score)`` pairs, best first.

    ``score(d) = w_dense / (k + rank_dense(d)) + w_sparse * gate(d) / (k + rank_sparse(d))``
    with 1-based ranks and ``gate(d) = coverage[d] ** coverage_power`` (1 when ``coverage`` is
    not given); a list that does not contain ``d`` adds nothing. Ties keep the dense order,
    then the sparse order, so the result is deterministic.
    """
    config = config or FusionConfig()
    scores: dict[str, float] = {}
    if config.dense_weight > 0:
        for rank, doc_id in enumerate(dict.fromkeys(dense), start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + config.dense_weight / (config.k + rank)
    if config.sparse_weight > 0:
        for rank, doc_id in enumerate(dict.fromkeys(sparse), start=1):
            gate = 1.0 if coverage is None else coverage.get(doc_id, 0.0) ** config.coverage_power
            vote = config.sparse_weight * gate / (config.k + rank)
            scores[doc_id] = scores.get(doc_id, 0.0) + vote
    # dict keeps first-insertion order (dense first), and sorted() is stable.
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)
