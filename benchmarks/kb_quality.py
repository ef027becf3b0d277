"""Retrieval quality on the labelled demo set: dense, BM25 and hybrid, Chinese and English.

Run: .venv-app/bin/python benchmarks/kb_quality.py [--model DIR] [--json]
It indexes the demo catalogue in a throw-away knowledge base (a temporary folder), and a
mixed copy of it (a third of the records Chinese-only, a third English-only: cross-lingual
search), searches the queries of benchmarks/data/kb-zh and kb-en with each method and prints
nDCG@10, MRR@10 and Recall@100 on all queries and on the held-out half (even-numbered
queries, which the fusion settings were not tuned on). Results: docs/benchmarks.md.

  --tune        grid-search FusionConfig (BM25 weight, k, coverage power) on the tuning
                half only, and show how the best settings do on the held-out half
  --write-data  regenerate the BEIR files (corpus from knowledge/, queries and qrels from
                labels.yaml) after editing the catalogue or the labels
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.knowledge.base import KnowledgeBase  # noqa: E402
from assistant.knowledge.embedding import Embedder, ensure_default_model  # noqa: E402
from assistant.knowledge.evaluation import (  # noqa: E402
    BeirSet,
    MethodScores,
    corpus_line,
    evaluate_kb,
    fusion_for,
    load_beir,
    ndcg_at,
    throwaway_knowledge_base,
)
from assistant.knowledge.fusion import FusionConfig, weighted_rrf  # noqa: E402
from assistant.knowledge.loader import load_records  # noqa: E402
from assistant.knowledge.schema import Product, Record  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
LANGUAGES = ("zh", "en")
# The BM25 weight stays at or below the dense weight (1.0): on plain product titles BM25 is
# the weaker retriever (../shared/MODELS.md), so it may tie with the dense vote, not outvote it.
GRID = {
    "sparse_weight": (0.25, 0.5, 0.75, 1.0),
    "k": (5.0, 10.0, 20.0, 40.0, 60.0),
    "coverage_power": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
}


def set_dir(lang: str) -> Path:
    return DATA / f"kb-{lang}"


def beir_paths(lang: str) -> tuple[Path, Path, Path]:
    folder = set_dir(lang)
    return folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / "test.tsv"


def load_set(lang: str) -> BeirSet:
    return load_beir(*beir_paths(lang))


def is_tuning_query(query_id: str) -> bool:
    """The tuning half: queries with an odd number (zh-001, zh-003 ...); the rest is held out.

    The labels are grouped by query type, so alternating keeps both halves alike in mix.
    """
    return int(query_id.rsplit("-", 1)[-1]) % 2 == 1


# ---------------------------------------------------------------------------- data files


def write_data(knowledge_dir: Path = ROOT / "knowledge") -> None:
    """Write corpus.jsonl, queries.jsonl and qrels/test.tsv for both languages.

    Every label is checked first (known record ids, a grade-2 record per query, no id in both
    grades), so a mistake leaves the files as they were.
    """
    records = load_records(knowledge_dir)
    known = {r.id for r in records}
    files: dict[Path, list[str]] = {}
    for lang in LANGUAGES:
        labels = yaml.safe_load((set_dir(lang) / "labels.yaml").read_text(encoding="utf-8"))
        corpus, queries, qrels = beir_paths(lang)
        files[corpus] = [json.dumps(corpus_line(r, lang), ensure_ascii=False) for r in records]
        files[queries], files[qrels] = [], ["query-id\tcorpus-id\tscore"]
        for number, item in enumerate(labels["queries"], start=1):
            query_id = f"{lang}-{number:03d}"
            best, also = item.get(2, []), item.get(1, [])
            unknown = (set(best) | set(also)) - known
            overlap = set(best) & set(also)
            if unknown or overlap or not best:
                raise SystemExit(
                    f"{lang} query {item['q']!r}: unknown ids {sorted(unknown)}, "
                    f"in both grades {sorted(overlap)}, grade-2 ids {best}"
                )
            line = {"_id": query_id, "text": item["q"], "metadata": {"type": item["type"]}}
            files[queries].append(json.dumps(line, ensure_ascii=False))
            files[qrels] += [f"{query_id}\t{doc}\t2" for doc in best]
            files[qrels] += [f"{query_id}\t{doc}\t1" for doc in also]
        print(f"{lang}: {len(files[queries])} queries, {len(files[qrels]) - 1} judgements")
    for path, lines in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


# ---------------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Condition:
    """The queries of one language over the demo catalogue, or over a mixed copy of it."""

    name: str
    lang: str
    mixed: bool = False


CONDITIONS = (
    Condition("zh", "zh"),
    Condition("en", "en"),
    Condition("zh, mixed catalogue", "zh", mixed=True),
    Condition("en, mixed catalogue", "en", mixed=True),
)


def one_language(record: Record, keep: str) -> Record:
    """``record`` with the text of the language other than ``keep`` removed (names, questions,
    descriptions, key actives); language-neutral facts (INCI list, skin types) stay."""
    drop = "en" if keep == "zh" else "zh"
    update: dict[str, object] = {
        name: ""
        for name in type(record).model_fields
        if name.endswith(f"_{drop}") and isinstance(getattr(record, name), str)
    }
    if isinstance(record, Product):
        update["key_actives"] = [
            a.model_copy(update={drop: "", f"benefit_{drop}": ""}) for a in record.key_actives
        ]
    return record.model_copy(update=update)


def mixed_catalogue(records: Sequence[Record]) -> list[Record]:
    """A third of the records left bilingual, a third Chinese only, a third English only.

    Brands write some records in one language only, so every query meets records that only
    the dense side can match across languages: the case the BM25 coverage gate is for.
    """
    return [
        r if i % 3 == 0 else one_language(r, "zh" if i % 3 == 1 else "en")
        for i, r in enumerate(records)
    ]


@contextmanager
def condition_kbs(
    records: Sequence[Record], embedder: Embedder
) -> Iterator[dict[str, KnowledgeBase]]:
    """Throw-away knowledge bases: the demo catalogue and its mixed copy, by condition name."""
    with (
        throwaway_knowledge_base(records, embedder) as real,
        throwaway_knowledge_base(mixed_catalogue(records), embedder, "eval-mixed") as mixed,
    ):
        yield {c.name: mixed if c.mixed else real for c in CONDITIONS}


# ---------------------------------------------------------------------------- reporting


def held_out(scores: list[MethodScores]) -> list[MethodScores]:
    return [m.subset(q for q in m.per_query if not is_tuning_query(q)) for m in scores]


def print_table(console: Console, title: str, scores: list[MethodScores]) -> None:
    table = Table(title=title)
    table.add_column("method")
    for name in ("nDCG@10", "MRR@10", "Recall@100", "queries", "ms/query"):
        table.add_column(name, justify="right")
    for m in scores:
        table.add_row(
            m.method,
            f"{m.ndcg_at_10:.3f}",
            f"{m.mrr_at_10:.3f}",
            f"{m.recall:.3f}",
            str(m.queries),
            f"{m.ms_per_query:.1f}",
        )
    console.print(table)


def by_type(lang: str, scores: list[MethodScores]) -> Table:
    """nDCG@10 per query type, to see where each method wins."""
    types: dict[str, list[str]] = {}
    for line in (set_dir(lang) / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        types.setdefault(item["metadata"]["type"], []).append(item["_id"])
    table = Table(title=f"{lang}: nDCG@10 by query type")
    table.add_column("type")
    table.add_column("queries", justify="right")
    for m in scores:
        table.add_column(m.method, justify="right")
    for kind, ids in types.items():
        table.add_row(kind, str(len(ids)), *(f"{m.subset(ids).ndcg_at_10:.3f}" for m in scores))
    return table


# ---------------------------------------------------------------------------- tuning


@dataclass(frozen=True)
class Rankings:
    """Everything fusion needs for one query: both full rankings and the BM25 coverage."""

    dense: list[str]
    sparse: list[str]
    coverage: dict[str, float]

    def fused(self, config: FusionConfig, keep: Callable[[str], bool] | None = None) -> list[str]:
        dense = [i for i in self.dense if keep is None or keep(i)]
        sparse = [i for i in self.sparse if keep is None or keep(i)]
        return [i for i, _ in weighted_rrf(dense, sparse, config, self.coverage)]


def collect_rankings(kb: KnowledgeBase, queries: Iterable[str]) -> dict[str, Rankings]:
    """Dense and BM25 rankings of the whole catalogue by query text, as KnowledgeBase.search
    computes them (its candidate pool, 4 x 100 hits, covers the whole demo catalogue), so
    fusing them here gives what search would return with those settings."""
    n = len(kb)
    dense_only = fusion_for("dense", kb.fusion)
    out = {}
    for text in queries:
        dense = [h.id for h in kb.search(text, k=n, fusion=dense_only)]
        sparse = [i for i, _ in kb.sparse.search(text, n)]
        out[text] = Rankings(dense, sparse, kb.sparse.coverage(text, sparse))
    return out


class SearchTestChecks:
    """What tests/knowledge/test_kb_search.py demands of the default fusion, by simulation:
    its 76 labelled queries (hybrid MRR and nDCG@5 not below dense, MRR >= 0.8), every product
    name on top in product search, and one-language records found from the other language."""

    def __init__(self, kb: KnowledgeBase, records: Sequence[Record]) -> None:
        from tests.knowledge import test_kb_search as suite

        self.suite = suite
        self.labelled = [*suite.ZH_QUERIES, *suite.EN_QUERIES]
        self.names = {
            name: r.id for r in records if isinstance(r, Product) for name in (r.name_zh, r.name_en)
        }
        self.probes = {
            "薰衣草助眠的身体油": "T-ZH-ONLY",
            "lavender oil for a better sleep": "T-ZH-ONLY",
            "可以去上海门店自提吗": "T-EN-ONLY",
            "can I pick up my order at the Shanghai showroom": "T-EN-ONLY",
        }
        self.rankings = collect_rankings(kb, [*(q for q, _ in self.labelled), *self.names])
        one_language_records = [r for r in suite.small_records([]) if r.id.startswith("T-")]
        kb.upsert(one_language_records)
        try:
            self.rankings.update(collect_rankings(kb, self.probes))
        finally:
            kb.delete([r.id for r in one_language_records])
        self.dense = self._labelled_figures(fusion_for("dense", kb.fusion))

    def _labelled_figures(self, config: FusionConfig) -> list[tuple[float, float]]:
        figures = []
        for queries in (self.suite.ZH_QUERIES, self.suite.EN_QUERIES):
            scores = [
                self.suite._metrics(self.rankings[q].fused(config)[:10], rel) for q, rel in queries
            ]
            figures.append(tuple(float(np.mean(x)) for x in zip(*scores, strict=True)))
        return figures

    def passes(self, config: FusionConfig) -> bool:
        for (mrr, ndcg), (dense_mrr, dense_ndcg) in zip(
            self._labelled_figures(config), self.dense, strict=True
        ):
            if mrr < dense_mrr or ndcg < dense_ndcg or mrr < 0.8:
                return False
        if any(
            self.rankings[name].fused(config, lambda i: i.startswith("LY-"))[0] != pid
            for name, pid in self.names.items()
        ):
            return False
        return all(self.rankings[q].fused(config)[0] == rid for q, rid in self.probes.items())


def tune(
    kbs: Mapping[str, KnowledgeBase],
    sets: Mapping[str, BeirSet],
    records: Sequence[Record],
    console: Console,
) -> FusionConfig:
    """Grid search on the tuning half only.

    Objective: mean nDCG@10 over the four conditions (zh and en, demo and mixed catalogue).
    Constraints: hybrid above dense and above BM25 in every condition, and what the existing
    tests demand (SearchTestChecks). The held-out column is printed, never used to choose.
    """
    base = kbs["zh"].fusion
    queries = {c.name: sets[c.lang].judged_queries for c in CONDITIONS}
    rankings = {c.name: collect_rankings(kbs[c.name], queries[c.name].values()) for c in CONDITIONS}
    checks = SearchTestChecks(kbs["zh"], records)

    def ndcg(config: FusionConfig, tuning: bool) -> dict[str, float]:
        out = {}
        for c in CONDITIONS:
            qrels = sets[c.lang].qrels
            values = [
                ndcg_at(rankings[c.name][text].fused(config)[:10], qrels[qid])
                for qid, text in queries[c.name].items()
                if is_tuning_query(qid) == tuning
            ]
            out[c.name] = float(np.mean(values))
        return out

    alone = {m: ndcg(fusion_for(m, base), True) for m in ("dense", "bm25")}
    results = []
    for weight, k, power in itertools.product(*GRID.values()):
        config = replace(base, sparse_weight=weight, k=k, coverage_power=power)
        tuned = ndcg(config, True)
        beats = all(tuned[c] > max(alone["dense"][c], alone["bm25"][c]) for c in tuned)
        allowed = beats and checks.passes(config)
        results.append((allowed, float(np.mean(list(tuned.values()))), tuned, config))
    results.sort(key=lambda r: (r[0], r[1]), reverse=True)

    table = Table(title="FusionConfig grid: nDCG@10 on the tuning half (best 12, and current)")
    for name in ("weight", "k", "power", "allowed", "zh", "en", "zh mixed", "en mixed", "mean"):
        table.add_column(name, justify="right")
    table.add_column("held-out zh / en", justify="right")
    for method, figures in alone.items():
        table.add_row(method, "", "", "", *(f"{figures[c.name]:.3f}" for c in CONDITIONS))
    current = next(r for r in results if r[3] == base)
    for allowed, objective, tuned, config in [*results[:12], current]:
        test = ndcg(config, False)
        table.add_row(
            f"{config.sparse_weight:g}" + (" (current)" if config == base else ""),
            f"{config.k:g}",
            f"{config.coverage_power:g}",
            "yes" if allowed else "no",
            *(f"{tuned[c.name]:.3f}" for c in CONDITIONS),
            f"{objective:.3f}",
            f"{test['zh']:.3f} / {test['en']:.3f}",
        )
    console.print(table)
    return results[0][3]


# ---------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="sentence-transformers folder (default: offline e5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--int8-queries",
        action="store_true",
        help="embed queries with the int8 copy of the model (knowledge.quantized_queries)",
    )
    parser.add_argument("--tune", action="store_true", help="grid-search FusionConfig")
    parser.add_argument("--write-data", action="store_true", help="regenerate the BEIR files")
    args = parser.parse_args(argv)
    if args.write_data:
        write_data()
        return

    console = Console(stderr=args.json)
    sets = {lang: load_set(lang) for lang in LANGUAGES}
    records = sets["zh"].records
    if [r.id for r in records] != [r.id for r in sets["en"].records]:
        raise SystemExit("kb-zh and kb-en must hold the same corpus: run --write-data")
    embedder = Embedder(args.model or ensure_default_model(), quantized_queries=args.int8_queries)
    console.print(
        f"model {embedder.model_name}, query prefix {embedder.query_prefix!r}, "
        f"passage prefix {embedder.passage_prefix!r}"
    )
    with condition_kbs(records, embedder) as kbs:
        if args.tune:
            console.print(f"best allowed on the tuning half: {tune(kbs, sets, records, console)}")
            return
        results = {
            c.name: evaluate_kb(kbs[c.name], sets[c.lang].queries, sets[c.lang].qrels)
            for c in CONDITIONS
        }
    if args.json:
        print(
            json.dumps(
                {
                    name: {
                        "all": [m.to_json() for m in scores],
                        "held_out": [m.to_json() for m in held_out(scores)],
                        "query_embedding_ms": round(embedding_ms, 2),
                    }
                    for name, (scores, embedding_ms) in results.items()
                },
                indent=2,
            )
        )
        return
    for c in CONDITIONS:
        scores, embedding_ms = results[c.name]
        print_table(console, f"{c.name}: {scores[0].queries} queries", scores)
        print_table(console, f"{c.name}: held-out half (not used for tuning)", held_out(scores))
        if not c.mixed:
            console.print(by_type(c.lang, scores))
            console.print(f"{c.name}: query embedding {embedding_ms:.1f} ms/query, not in ms/query")


if __name__ == "__main__":
    main()
