"""`assistant kb eval`: BEIR files, metrics, the command, the labelled demo set and quality gate."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from assistant.knowledge import eval_cli
from assistant.knowledge.documents import MAX_SECTION_SIZE, _size, build_document
from assistant.knowledge.embedding import Embedder, ensure_default_model
from assistant.knowledge.eval_cli import kb_eval
from assistant.knowledge.evaluation import (
    METHODS,
    EvalInputError,
    corpus_line,
    evaluate_kb,
    fusion_for,
    load_beir,
    mrr_at,
    ndcg_at,
    read_corpus,
    read_qrels,
    read_queries,
    recall_at,
    throwaway_knowledge_base,
)
from assistant.knowledge.loader import load_records
from assistant.knowledge.schema import TextDocument, parse_record, record_to_dict

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(ensure_default_model())


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- metrics


def test_metrics_on_a_hand_computed_example() -> None:
    ranked = ["a", "b", "c", "d"]
    judged = {"b": 2, "d": 1, "e": 1, "c": 0}
    # DCG = 2/log2(3) + 1/log2(5); ideal = 2/log2(2) + 1/log2(3) + 1/log2(4)
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    ideal = 2 + 1 / math.log2(3) + 1 / 2
    assert ndcg_at(ranked, judged) == pytest.approx(dcg / ideal)
    assert ndcg_at(ranked, judged) == pytest.approx(0.54058, abs=1e-5)
    assert mrr_at(ranked, judged) == 0.5  # "b" at rank 2; "c" (score 0) is not relevant
    assert recall_at(ranked, judged) == pytest.approx(2 / 3)  # b and d of b, d, e

    # Cut-offs: only the top k count.
    assert ndcg_at(ranked, judged, k=1) == 0.0
    assert mrr_at(ranked, judged, k=1) == 0.0
    assert recall_at(ranked, judged, k=2) == pytest.approx(1 / 3)
    # The ideal order scores 1; nothing relevant scores 0.
    assert ndcg_at(["b", "d", "e"], judged) == pytest.approx(1.0)
    assert ndcg_at(["b", "e", "d"], judged) == pytest.approx(1.0)  # equal grades tie
    assert ndcg_at(["x"], {"x": 0}) == 0.0 and recall_at(["x"], {"x": 0}) == 0.0
    # Grades matter: the grade-1 document first is worse than the grade-2 one first.
    assert ndcg_at(["d", "b"], judged) < ndcg_at(["b", "d"], judged)


def test_fusion_for_each_method() -> None:
    assert fusion_for("hybrid").sparse_weight > 0 and fusion_for("hybrid").dense_weight > 0
    assert fusion_for("dense").sparse_weight == 0
    bm25 = fusion_for("bm25")
    assert bm25.dense_weight == 0 and bm25.coverage_power == 0
    with pytest.raises(ValueError, match="unknown method"):
        fusion_for("splade")
    assert eval_cli.METHODS == METHODS  # the command lists them without importing the stack


# ---------------------------------------------------------------------------- reading


def test_reading_reports_file_and_line(tmp_path: Path) -> None:
    corpus = write_lines(
        tmp_path / "corpus.jsonl",
        ['{"_id": "d1", "title": "T", "text": "x"}', '{"_id": "d2", "text": oops}'],
    )
    with pytest.raises(EvalInputError, match=r"corpus\.jsonl:2: not valid JSON") as error:
        read_corpus(corpus)
    assert error.value.line == 2 and error.value.path.endswith("corpus.jsonl")

    write_lines(corpus, ['{"_id": "d1", "text": "x"}', "", '{"_id": "d1", "text": "y"}'])
    with pytest.raises(EvalInputError, match=r":3: duplicate _id 'd1' \(first on line 1\)"):
        read_corpus(corpus)
    write_lines(corpus, ['["a list"]'])
    with pytest.raises(EvalInputError, match=r":1: expected a JSON object"):
        read_corpus(corpus)
    write_lines(corpus, ['{"_id": "d1", "title": "", "text": ""}'])
    with pytest.raises(EvalInputError, match=r":1: .*needs a title or a text"):
        read_corpus(corpus)

    queries = write_lines(tmp_path / "queries.jsonl", ['{"text": "no id"}'])
    with pytest.raises(EvalInputError, match=r"queries\.jsonl:1: \"_id\" must be"):
        read_queries(queries)

    qrels = write_lines(tmp_path / "test.tsv", ["q1\td1\t1"])
    with pytest.raises(EvalInputError, match=r"test\.tsv:1: expected the header line"):
        read_qrels(qrels)
    write_lines(qrels, ["query-id\tcorpus-id\tscore", "q1\td1\thigh"])
    with pytest.raises(EvalInputError, match=r"test\.tsv:2: score must be an integer"):
        read_qrels(qrels)
    write_lines(qrels, ["query-id\tcorpus-id\tscore", "q1 d1 1"])
    with pytest.raises(EvalInputError, match=r"test\.tsv:2: expected 3 tab-separated columns"):
        read_qrels(qrels)
    with pytest.raises(EvalInputError, match=r"missing\.tsv: file not found"):
        read_qrels(tmp_path / "missing.tsv")


def test_load_beir_cross_checks_ids(tmp_path: Path) -> None:
    corpus = write_lines(tmp_path / "corpus.jsonl", ['{"_id": "d1", "text": "x"}'])
    queries = write_lines(tmp_path / "queries.jsonl", ['{"_id": "q1", "text": "x"}'])
    qrels = write_lines(tmp_path / "test.tsv", ["query-id\tcorpus-id\tscore", "q1\td9\t1"])
    with pytest.raises(EvalInputError, match=r"1 corpus id\(s\) not in corpus\.jsonl: 'd9'"):
        load_beir(corpus, queries, qrels)
    write_lines(qrels, ["query-id\tcorpus-id\tscore", "q2\td1\t1"])
    with pytest.raises(EvalInputError, match=r"query id\(s\) not in queries\.jsonl: 'q2'"):
        load_beir(corpus, queries, qrels)
    write_lines(qrels, ["query-id\tcorpus-id\tscore", "q1\td1\t0"])
    with pytest.raises(EvalInputError, match="no query has a relevant"):
        load_beir(corpus, queries, qrels)


def test_corpus_lines_become_records(tmp_path: Path) -> None:
    demo = {r.id: r for r in load_records(ROOT / "knowledge")}
    product = demo["LY-SE-003"]
    lines = [
        json.dumps(corpus_line(product, "en"), ensure_ascii=False),
        json.dumps(
            {
                "_id": "PMC/4983 v2",  # not a valid record id: renamed, mapped back
                "title": "Vitamin C and skin",
                "text": "Topical ascorbic acid reduces pigmentation.",
                "metadata": {"year": 2019, "tags": ["skin", "vitamin"], "nested": {"x": 1}},
            }
        ),
    ]
    records, corpus_ids = read_corpus(write_lines(tmp_path / "corpus.jsonl", lines))
    assert record_to_dict(records[0]) == record_to_dict(product)  # the typed record itself
    document = records[1]
    assert isinstance(document, TextDocument)
    assert corpus_ids == {document.id: "PMC/4983 v2"}
    assert document.title_en == "Vitamin C and skin" and document.title_zh == ""
    assert document.title("zh") == "Vitamin C and skin"  # falls back
    assert document.extra_fields == {"year": 2019, "tags": ["skin", "vitamin"]}

    line = {"_id": "LY-X", "text": "", "metadata": {"kind": "product", "record": {"id": "Y"}}}
    with pytest.raises(EvalInputError, match=r":1: .*"):
        read_corpus(write_lines(tmp_path / "bad.jsonl", [json.dumps(line)]))


def test_document_kind_passages() -> None:
    zh = parse_record({"kind": "document", "id": "d1", "title": "退货须知", "text": "七天无理由"})
    assert isinstance(zh, TextDocument) and zh.title_zh == "退货须知" and zh.text_zh == "七天无理由"
    doc = build_document(zh)
    assert [p.key for p in doc.passages] == ["zh"]
    assert doc.passages[0].text == "退货须知\n七天无理由"
    assert doc.sparse_text.count("退货须知") == 2  # once in the passage, once as the title

    long_text = ("Sunscreen protects the skin from UV light. " * 120) + "\n\nSecond part."
    doc = build_document(TextDocument(id="d2", title="Sun care", text=long_text))
    keys = [p.key for p in doc.passages]
    assert keys[0] == "en" and keys[1] == "en.1" and len(keys) >= 3
    assert all(_size(p.text) <= MAX_SECTION_SIZE for p in doc.passages)
    assert all(p.text.startswith("Sun care\n") for p in doc.passages)
    assert doc.passages[-1].text == "Sun care\nSecond part."
    # Nothing is lost: every sentence is in some passage.
    assert sum(p.text.count("UV light.") for p in doc.passages) == 120


# ---------------------------------------------------------------------------- the command


@pytest.fixture()
def tiny_set(tmp_path: Path) -> tuple[Path, Path, Path]:
    docs = [
        ("sun-1", "Mineral sunscreen", "Zinc oxide sunscreen for sensitive skin, SPF 30."),
        ("sun/2", "Sport sunscreen spray", "Water-resistant spray for running and the beach."),
        ("clean-1", "Salicylic acid cleanser", "Gel cleanser for oily, acne-prone skin."),
        ("cream-1", "Ceramide cream", "Rich barrier cream for dry, flaky skin in winter."),
        ("ship-1", "Shipping", "Orders paid before 4 pm ship the same day."),
        ("ret-1", "Returns", "Unopened items can be returned within 7 days of delivery."),
    ]
    corpus = write_lines(
        tmp_path / "corpus.jsonl",
        [json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in docs],
    )
    queries = write_lines(
        tmp_path / "queries.jsonl",
        [
            json.dumps({"_id": "q1", "text": "sunscreen for the beach"}),
            json.dumps({"_id": "q2", "text": "cleanser for acne"}),
            json.dumps({"_id": "q3", "text": "can I send it back"}),
            json.dumps({"_id": "q4", "text": "no judgements for me"}),
        ],
    )
    (tmp_path / "qrels").mkdir()
    qrels = write_lines(
        tmp_path / "qrels" / "test.tsv",
        [
            "query-id\tcorpus-id\tscore",
            "q1\tsun/2\t2",
            "q1\tsun-1\t1",
            "q2\tclean-1\t2",
            "q3\tret-1\t2",
        ],
    )
    return corpus, queries, qrels


def beir_options(corpus: Path, queries: Path, qrels: Path) -> list[str]:
    return ["--corpus", str(corpus), "--queries", str(queries), "--qrels", str(qrels)]


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(kb_eval)
    return app


def test_kb_eval_command(tiny_set: tuple[Path, Path, Path]) -> None:
    files = beir_options(*tiny_set)
    model = ["--model", str(ensure_default_model())]
    runner = CliRunner()

    result = runner.invoke(cli(), [*files, *model])
    assert result.exit_code == 0, result.output
    for text in ("nDCG@10", "MRR@10", "Recall@100", *METHODS, "6 records"):
        assert text in result.stdout
    assert "1 query without relevant judgements skipped" in result.stdout

    result = runner.invoke(cli(), [*files, *model, "--json", "--k", "5"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["records"] == 6 and report["queries"] == 3 and report["unjudged_queries"] == 1
    assert [m["method"] for m in report["methods"]] == list(METHODS)
    for figures in report["methods"]:
        assert 0 <= figures["ndcg@10"] <= 1 and 0 <= figures["mrr@10"] <= 1
        assert 0 <= figures["recall@5"] <= 1 and figures["queries"] == 3
    # Easy queries on six documents: the renamed id "sun/2" is mapped back and found.
    hybrid = report["methods"][2]
    assert hybrid["mrr@10"] == 1.0 and hybrid["recall@5"] == 1.0

    result = runner.invoke(cli(), [*files, *model, "--json", "--method", "bm25"])
    assert result.exit_code == 0, result.output
    assert [m["method"] for m in json.loads(result.stdout)["methods"]] == ["bm25"]


def test_kb_eval_bad_input_exits_2(tiny_set: tuple[Path, Path, Path], tmp_path: Path) -> None:
    corpus, queries, qrels = tiny_set
    runner = CliRunner()
    qrels.write_text("q1\tsun-1\t1\n", encoding="utf-8")
    result = runner.invoke(cli(), [*beir_options(corpus, queries, qrels)])
    assert result.exit_code == 2
    assert "test.tsv:1: expected the header line" in result.output
    assert "Traceback" not in result.output

    result = runner.invoke(cli(), [*beir_options(corpus, queries, qrels), "--method", "x"])
    assert result.exit_code == 2 and "--method must be one of" in result.output
    result = runner.invoke(cli(), [*beir_options(corpus, queries, qrels), "--kb", "no spaces"])
    assert result.exit_code == 2 and "invalid knowledge base name" in result.output

    missing = tmp_path / "nope.jsonl"
    result = runner.invoke(cli(), [*beir_options(missing, queries, qrels)])
    assert result.exit_code == 2 and "nope.jsonl: file not found" in result.output

    help_text = runner.invoke(cli(), ["--help"]).output
    assert "BEIR" in help_text and "--method" in help_text and "--json" in help_text


# ---------------------------------------------------------------------------- the demo set


def test_demo_set_is_well_formed() -> None:
    catalogue = {r.id: record_to_dict(r) for r in load_records(ROOT / "knowledge")}
    minimum = {"zh": 150, "en": 100}
    for lang, least in minimum.items():
        folder = DATA / f"kb-{lang}"
        corpus, queries, qrels = (
            folder / "corpus.jsonl",
            folder / "queries.jsonl",
            folder / "qrels" / "test.tsv",
        )
        beir = load_beir(corpus, queries, qrels)  # raises on any bad line or unknown id
        assert len(beir.queries) >= least
        assert set(beir.judged_queries) == set(beir.queries)  # every query is labelled
        ids = {r.id for r in beir.records}
        for query_id, judged in beir.qrels.items():
            assert query_id in beir.queries
            assert set(judged) <= ids
            assert set(judged.values()) <= {1, 2} and 2 in judged.values(), query_id
        # The corpus is the catalogue the assistant searches, record for record.
        assert {r.id: record_to_dict(r) for r in beir.records} == catalogue, (
            "benchmarks/data is out of date: python benchmarks/kb_quality.py --write-data"
        )
        # ... and queries.jsonl is what labels.yaml says.
        labels = yaml.safe_load((folder / "labels.yaml").read_text(encoding="utf-8"))
        assert [q["q"] for q in labels["queries"]] == list(beir.queries.values())
        assert len(set(beir.queries.values())) == len(beir.queries), "duplicate queries"


def test_hybrid_beats_dense_and_bm25_on_the_demo_set(embedder: Embedder) -> None:
    sets = {lang: load_beir(*_paths(lang)) for lang in ("zh", "en")}
    # Both sets hold the same corpus: one knowledge base serves both languages.
    with throwaway_knowledge_base(sets["zh"].records, embedder) as kb:
        results = {
            lang: evaluate_kb(kb, beir.queries, beir.qrels, k=100)[0] for lang, beir in sets.items()
        }
    for lang, scores in results.items():
        ndcg = {m.method: m.ndcg_at_10 for m in scores}
        print(f"\n{lang}: " + ", ".join(f"{m.method} nDCG@10 {m.ndcg_at_10:.3f}" for m in scores))
        assert ndcg["hybrid"] >= ndcg["dense"], lang
        assert ndcg["hybrid"] >= ndcg["bm25"], lang
        assert all(m.recall >= 0.9 for m in scores if m.method != "bm25"), lang


def _paths(lang: str) -> tuple[Path, Path, Path]:
    folder = DATA / f"kb-{lang}"
    return folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / "test.tsv"
