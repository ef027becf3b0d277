"""Loader and schema: valid files load, bad files are rejected whole with located problems."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from assistant.knowledge.documents import build_document, content_hash
from assistant.knowledge.loader import KnowledgeFileError, load_file, load_records
from assistant.knowledge.schema import Faq, Policy, Product, Promotion

PRODUCTS = """\
kind: product
records:
  - id: p-serum
    name_zh: 澜屿维C焕亮精华
    name_en: LANYU Vitamin C Glow Serum
    category: Serum
    price: 198
    size: 30ml
    ingredients: [Aqua, Ethyl Ascorbic Acid, Glycerin]
    key_actives:
      - {zh: 维生素C乙基醚, en: ethyl ascorbic acid, benefit_zh: 提亮, benefit_en: brightens}
    skin_types: [normal, Dry, sensitive]
    concerns: [dullness, sun protection]
    contraindications: []
    fragrance_free: true
    stock: 12
    channel: tmall
  - id: p-clean
    name_zh: 澜屿氨基酸洁面
    category: cleanser
    price: 89.5
    skin_types: all
"""

FAQS = """\
kind: faq
records:
  - id: f-ship
    category: shipping
    question_zh: 多久发货？
    question_en: When do you ship?
    answer_zh: 付款后48小时内发货。
    answer_en: Within 48 hours of payment.
"""

POLICIES = """\
kind: policy
records:
  - id: pol-return
    category: returns
    title_zh: 七天无理由退货
    title_en: 7-day returns
    body_zh: 未拆封商品7天内可退。
    rules: {days: 7, opened_ok: false}
"""

PROMOTIONS = """\
kind: promotion
records:
  - id: promo-1
    title_zh: 双十一买一送一
    starts: 2025-11-01
    ends: 2025-11-11
    product_ids: [p-serum]
    code: LANYU11
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    write(tmp_path, "products.yaml", PRODUCTS)
    write(tmp_path, "faqs.yaml", FAQS)
    write(tmp_path, "policies.yaml", POLICIES)
    write(tmp_path, "promotions.yaml", PROMOTIONS)
    write(tmp_path, "README.md", "not a knowledge file")
    return tmp_path


def test_loads_every_kind_from_a_directory(kb_dir: Path) -> None:
    records = load_records(kb_dir)
    by_id = {r.id: r for r in records}
    assert set(by_id) == {"p-serum", "p-clean", "f-ship", "pol-return", "promo-1"}
    serum = by_id["p-serum"]
    assert isinstance(serum, Product)
    assert serum.category == "serum"  # normalised
    assert serum.skin_types == ["normal", "dry", "sensitive"]
    assert serum.concerns == ["dullness", "sun_protection"]
    assert serum.ingredients == "Aqua, Ethyl Ascorbic Acid, Glycerin"
    assert serum.extra_fields == {"channel": "tmall"}  # unknown field kept
    clean = by_id["p-clean"]
    assert isinstance(clean, Product)
    assert clean.skin_types == ["oily", "dry", "combination", "normal", "sensitive"]
    assert clean.in_stock and clean.fragrance_free is None
    assert isinstance(by_id["f-ship"], Faq)
    policy = by_id["pol-return"]
    assert isinstance(policy, Policy) and policy.rules == {"days": 7, "opened_ok": False}
    promo = by_id["promo-1"]
    assert isinstance(promo, Promotion) and promo.ends == date(2025, 11, 11)
    assert promo.title("en") == "双十一买一送一"  # falls back to the language it has


def test_bad_file_lists_every_problem_with_file_line_record_and_field(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "products.yaml",
        """\
        kind: product
        records:
          - id: p-ok
            name_zh: 好的
            category: serum
            price: 10
          - id: p-bad
            name_zh: 坏的
            category: perfume
            price: cheap
            skin_types: [oily, greasy]
          - name_zh: 无编号
            category: toner
            price: 5
        """,
    )
    with pytest.raises(KnowledgeFileError) as info:
        load_records([bad])
    problems = info.value.problems
    found = {(p.record_id, p.field) for p in problems}
    assert ("p-bad", "category") in found
    assert ("p-bad", "price") in found
    assert ("p-bad", "skin_types.1") in found
    assert (None, "id") in found
    assert all(p.file == str(bad) for p in problems)
    by_field = {p.field: p for p in problems if p.record_id == "p-bad"}
    assert by_field["category"].line == 9 and by_field["category"].index == 1
    assert by_field["price"].line == 10
    assert by_field["skin_types.1"].line == 11
    message = str(info.value)
    assert "products.yaml:9 records[1] id=p-bad field category" in message
    assert "greasy" in message


def test_one_bad_file_means_nothing_is_loaded(kb_dir: Path) -> None:
    write(kb_dir, "faqs.yaml", FAQS.replace("category: shipping", "category: 'ship ping!'"))
    with pytest.raises(KnowledgeFileError) as info:
        load_records(kb_dir)
    assert info.value.files == [str(kb_dir / "faqs.yaml")]
    assert info.value.problems[0].field == "category"


def test_a_text_needs_at_least_one_language(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "faqs.yaml",
        """\
        kind: faq
        records:
          - id: f-en
            category: misc
            question_en: Only English?
            answer_en: Fine.
          - id: f-none
            category: misc
            question_zh: 没有答案
        """,
    )
    with pytest.raises(KnowledgeFileError) as info:
        load_file(path)
    (problem,) = info.value.problems
    assert problem.record_id == "f-none" and problem.field == "answer_en"
    assert "answer_zh or answer_en" in problem.message


def test_duplicate_ids_within_and_across_files(kb_dir: Path) -> None:
    write(kb_dir, "more_faqs.yaml", FAQS)  # f-ship again, in another file
    with pytest.raises(KnowledgeFileError) as info:
        load_records(kb_dir)
    assert any(p.record_id == "f-ship" and "faqs.yaml" in p.message for p in info.value.problems)

    dup = write(kb_dir, "dup.yaml", FAQS + FAQS.split("records:\n", 1)[1])
    with pytest.raises(KnowledgeFileError) as info:
        load_file(dup)
    assert info.value.problems[0].record_id == "f-ship"
    assert "duplicate id" in info.value.problems[0].message


def test_file_level_problems(tmp_path: Path) -> None:
    cases = {
        "empty.yaml": ("", "file is empty"),
        "broken.yaml": ("kind: faq\nrecords: [\n", "not valid YAML"),
        "nokind.yaml": ("records: []\n", "'kind' must be one of"),
        "norecords.yaml": ("kind: faq\n", "missing 'records'"),
        "scalar.yaml": ("kind: faq\nrecords:\n  - just text\n", "a record must be a mapping"),
        "wrongkind.yaml": (
            "kind: faq\nrecords:\n  - {kind: policy, id: x}\n",
            "differs from the file's kind",
        ),
    }
    for name, (text, expected) in cases.items():
        path = write(tmp_path, name, text)
        with pytest.raises(KnowledgeFileError) as info:
            load_file(path)
        assert expected in str(info.value), name


def test_json_and_explicit_empty_records(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "faqs.json",
        '{"kind": "faq", "records": [{"id": "f1", "category": "misc",'
        ' "question_zh": "问", "answer_zh": "答"}]}',
    )
    assert [r.id for r in load_file(path)] == ["f1"]
    empty = write(tmp_path, "none.yaml", "kind: policy\nrecords: []\n")
    assert load_file(empty) == []


def test_promotion_checks(kb_dir: Path) -> None:
    write(kb_dir, "promotions.yaml", PROMOTIONS.replace("[p-serum]", "[p-serum, p-gone]"))
    with pytest.raises(KnowledgeFileError) as info:
        load_records(kb_dir)
    (problem,) = info.value.problems
    assert problem.field == "product_ids.1" and "p-gone" in problem.message

    write(kb_dir, "promotions.yaml", PROMOTIONS.replace("2025-11-11", "2025-10-01"))
    with pytest.raises(KnowledgeFileError) as info:
        load_records(kb_dir)
    assert info.value.problems[0].field == "ends"


def test_documents_are_bilingual_with_flat_metadata(kb_dir: Path) -> None:
    records = {r.id: r for r in load_records(kb_dir)}
    doc = build_document(records["p-serum"])
    zh, en = doc.passages  # one embedded passage per language
    assert (zh.key, en.key) == ("zh", "en")
    for word in ("维C", "精华", "敏感肌", "干皮", "¥198", "暗沉"):
        assert word in zh.text, word
    for word in ("Vitamin C", "serum", "sensitive skin", "dry skin", "¥198", "dullness"):
        assert word in en.text, word
    assert zh.text in doc.text and en.text in doc.text  # BM25 sees both languages
    # Synonyms, nicknames and the INCI list are BM25-only.
    for word in ("精华液", "essence", "VC", "Glycerin"):
        assert word not in zh.text + en.text, word
        assert word in doc.sparse_text, word
    meta = doc.metadata
    assert meta["kind"] == "product" and meta["category"] == "serum"
    assert meta["price"] == 198.0 and meta["in_stock"] is True
    assert meta["skin_sensitive"] is True and meta["skin_oily"] is False
    assert meta["concern_dullness"] is True and meta["contra_pregnancy"] is False
    assert meta["fragrance_free"] is True and "alcohol_free" not in meta
    assert meta["channel"] == "tmall"
    assert all(isinstance(v, str | int | float | bool) for v in meta.values())

    faq = build_document(records["f-ship"])
    assert [p.text.splitlines()[0] for p in faq.passages] == ["多久发货？", "When do you ship?"]
    assert faq.metadata["contra_pregnancy"] is False  # every kind carries the flags

    promo = build_document(records["promo-1"])
    assert promo.metadata["starts"] == 20251101 and promo.metadata["product_ids"] == "p-serum"


def test_content_hash_changes_with_any_field(kb_dir: Path) -> None:
    serum = next(r for r in load_records(kb_dir) if r.id == "p-serum")
    assert content_hash(serum) == content_hash(serum.model_copy())
    assert content_hash(serum) != content_hash(serum.model_copy(update={"stock": 0}))
