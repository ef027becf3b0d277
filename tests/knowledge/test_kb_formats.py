"""Staff bring knowledge as CSV, XLSX, JSONL, JSON/YAML or Markdown, in the encodings they have.

Every test checks something a staff user would notice: the records they get, the ids that stay
put, or an error message that says which file, sheet, row and column to fix.
"""

from __future__ import annotations

import io
import json
import textwrap
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from assistant.knowledge.export import export_records
from assistant.knowledge.loader import (
    KnowledgeFileError,
    Problem,
    knowledge_files,
    load_file,
    load_records,
    load_sources,
)
from assistant.knowledge.schema import Faq, Policy, Product, Promotion

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples" / "knowledge"
DEMO = REPO / "knowledge"

PRODUCTS_CSV = """\
编号,名称,价格,分类,skin_types,concerns,fragrance_free,stock,ingredients,channel
P-1,氨基酸洁面乳,89,cleanser,oily；dry、sensitive,dryness|barrier,是,120,"Aqua, Glycerin",天猫
P-2,维C精华,"￥1,299",Serum,all,dullness,否,,,京东
"""


def write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding=encoding)
    return path


def problems_of(source: object) -> list[Problem]:
    with pytest.raises(KnowledgeFileError) as info:
        load_records(source)  # type: ignore[arg-type]
    return info.value.problems


def by_id(records: list) -> dict:
    return {r.id: r for r in records}


# ─── the shipped examples and round trips ────────────────────────────────────────────────────


def test_documented_example_files_load() -> None:
    sources = {s.path.name: s.records for s in load_sources(EXAMPLES)}
    assert set(sources) == {
        "products.csv",
        "faqs.md",
        "policies.md",
        "promotions.jsonl",
        "more.yaml",
    }
    products = by_id(sources["products.csv"])
    cleanser = products["EX-CL-001"]
    assert isinstance(cleanser, Product)
    assert cleanser.skin_types == ["oily", "dry", "combination", "normal", "sensitive"]  # "all"
    assert cleanser.key_actives[0].zh == "椰油酰甘氨酸钠"  # JSON cell
    assert cleanser.fragrance_free is True and cleanser.stock == 320
    assert cleanser.extra_fields == {"channel": "tmall"}
    assert products["EX-SE-002"].contraindications == ["sensitive"]
    faqs = by_id(sources["faqs.md"])
    assert faqs["EX-FAQ-SHIP-1"].question_en == "When will my order ship?"
    promo = by_id(sources["promotions.jsonl"])["EX-PROMO-SUN"]
    assert isinstance(promo, Promotion) and promo.product_ids == ["EX-SU-003"]
    assert isinstance(by_id(sources["more.yaml"])["EX-POL-MEMBER"], Policy)


@pytest.mark.parametrize("fmt", ["yaml", "json", "jsonl", "csv", "xlsx"])
def test_every_export_format_reloads_to_the_same_records(tmp_path: Path, fmt: str) -> None:
    records = load_records(DEMO) + load_records(EXAMPLES)
    path = tmp_path / f"everything.{fmt}"
    export_records(records, path, fmt)
    reloaded = load_file(path)
    assert sorted(reloaded, key=lambda r: r.id) == sorted(records, key=lambda r: r.id)
    if fmt != "xlsx":
        text = path.read_text(encoding="utf-8-sig")
        assert "氨基酸温和洁面乳" in text and "\\u" not in text  # Chinese stays readable


@pytest.mark.parametrize("fmt", ["yaml", "json", "jsonl", "xlsx"])
def test_typed_extra_fields_survive_export(tmp_path: Path, fmt: str) -> None:
    product = Product.model_validate(
        {
            "id": "X-1",
            "name_zh": "面霜",
            "category": "moisturizer",
            "price": 12.5,
            "barcode": "0690123",  # text that looks like a number stays text
            "rank": 3,
            "limited": True,
            "tags": ["新品", "限量"],
        }
    )
    path = tmp_path / f"extras.{fmt}"
    export_records([product], path)
    (reloaded,) = load_file(path)
    assert reloaded == product
    assert reloaded.extra_fields == {
        "barcode": "0690123",
        "rank": 3,
        "limited": True,
        "tags": ["新品", "限量"],
    }


def test_export_to_a_stream_and_unknown_format() -> None:
    records = load_records(EXAMPLES / "faqs.md")
    stream = io.StringIO()
    export_records(records, stream, "jsonl")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["kind"] == "faq"
    assert "多久发货" in lines[0]
    with pytest.raises(ValueError, match="choose one of"):
        export_records(records, io.StringIO(), "docx")


# ─── CSV: encodings, headers, cells ──────────────────────────────────────────────────────────


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_in_every_common_encoding_loads_like_utf8(tmp_path: Path, encoding: str) -> None:
    utf8 = load_file(write(tmp_path, "products.csv", PRODUCTS_CSV))
    other_dir = tmp_path / encoding
    other_dir.mkdir()
    other = load_file(write(other_dir, "products.csv", PRODUCTS_CSV, encoding=encoding))
    assert other == utf8
    assert utf8[0].name_zh == "氨基酸洁面乳"


def test_csv_cells_become_typed_fields(tmp_path: Path) -> None:
    records = by_id(load_file(write(tmp_path, "products.csv", PRODUCTS_CSV)))
    cleanser, serum = records["P-1"], records["P-2"]
    assert isinstance(cleanser, Product)
    assert cleanser.category == "cleanser" and serum.category == "serum"  # 分类 header
    assert cleanser.skin_types == ["oily", "dry", "sensitive"]  # ； and 、 separate values
    assert cleanser.concerns == ["dryness", "barrier"]
    assert cleanser.fragrance_free is True and serum.fragrance_free is False
    assert cleanser.ingredients == "Aqua, Glycerin"  # commas inside ingredients are kept
    assert cleanser.stock == 120 and serum.stock is None  # empty cell = not given
    assert serum.price == 1299.0  # "￥1,299"
    assert cleanser.extra_fields == {"channel": "天猫"}


def test_header_spelling_is_forgiving(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "faq.csv",
        "\ufeff ID ,Category,问题,答案,Question EN,answer-en\n"
        "F-1,Shipping,多久发货？,48小时内。,When do you ship?,Within 48 hours.\n",
    )
    (faq,) = load_file(path)
    assert isinstance(faq, Faq)
    assert (faq.id, faq.category, faq.question_zh, faq.answer_en) == (
        "F-1",
        "shipping",
        "多久发货？",
        "Within 48 hours.",
    )


def test_kind_column_lets_one_csv_hold_several_kinds(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.csv",
        """\
        kind,id,name_zh,title_zh,category,price,question_zh,answer_zh,starts,ends,product_ids
        Product,p1,洁面,,cleanser,10,,,,,
        问答,f1,,,usage,,怎么用？,早晚各一次。,,,
        promotions,pr1,,双11,,,,,2025/11/1,2025年11月11日,p1
        """,
    )
    records = by_id(load_file(path))
    assert isinstance(records["p1"], Product) and isinstance(records["f1"], Faq)
    promo = records["pr1"]
    assert isinstance(promo, Promotion)
    assert (promo.starts, promo.ends) == (date(2025, 11, 1), date(2025, 11, 11))
    assert promo.title_zh == "双11" and promo.product_ids == ["p1"]


def test_csv_errors_name_the_row_and_column_staff_see(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "products.csv",
        """\
        编号,名称,价格,分类,skin_types,fragrance_free
        p1,好的,10,serum,oily,yes
        p2,坏的,abc,serum,"oily, greasy",maybe
        p3,无分类,5,,dry,
        p1,重复,5,toner,,
        """,
    )
    problems = problems_of(path)
    found = {(p.line, p.record_id, p.field) for p in problems}
    assert (3, "p2", "price") in found
    assert (3, "p2", "skin_types.1") in found
    assert (3, "p2", "fragrance_free") in found
    assert (4, "p3", "category") in found
    assert (5, "p1", "id") in found
    text = "\n".join(str(p) for p in problems)
    assert f"{path}:3 id=p2 field price: " in text
    assert "got 'abc'" in text and "column C '价格'" in text
    assert "unknown skin type 'greasy'" in text
    assert "expected yes or no" in text
    assert "missing required field" in text
    assert "duplicate id (also at row 2)" in text


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("products.csv", "", "file is empty"),
        ("products.csv", "id,name_zh,category,price\n", "only a header row"),
        ("catalog.csv", "id,name_zh\nx,y\n", "cannot tell which kind of records this file"),
        ("products.csv", "kind,id\nwidget,x\n", "unknown record kind 'widget'"),
        ("products.csv", "id,编号\nx,y\n", "both mean field 'id'"),
        ("products.csv", "id,,price\nx,oops,1\n", "cell B2 has a value but column B has no header"),
    ],
)
def test_csv_file_level_errors(tmp_path: Path, name: str, content: str, expected: str) -> None:
    problems = problems_of(write(tmp_path, name, content))
    assert expected in "\n".join(str(p) for p in problems)


def test_text_in_an_unknown_encoding_is_refused_not_garbled(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes("編號,名稱,價格\nP1,維他命精華液,199\nP2,保濕乳液,89\n".encode("big5"))
    (problem,) = problems_of(path)
    assert problem.file == str(path)
    assert "not UTF-8 or GBK text" in problem.message and "big5" in problem.message.lower()
    assert "save it as UTF-8" in problem.message


# ─── XLSX ────────────────────────────────────────────────────────────────────────────────────


def make_workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_sheets_give_kinds_and_numeric_ids_stay_whole(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "catalog.xlsx",
        {
            "products": [
                ["id", "name_zh", "category", "price", "stock", "fragrance_free", "launched"],
                [129, "洁面", "cleanser", 89.0, 12.0, True, date(2024, 3, 1)],
                [130.0, "精华", "serum", 199.9, None, "否", None],
            ],
            "常见问题": [
                [],
                ["编号", "category", "问题", "答案"],
                ["F1", "shipping", "多久发货？", "48小时内。"],
            ],
            "_notes": [["staff notes, not loaded"]],
        },
    )
    records = by_id(load_file(path))
    assert set(records) == {"129", "130", "F1"}  # not "129.0"
    cleanser = records["129"]
    assert isinstance(cleanser, Product) and cleanser.stock == 12 and cleanser.price == 89
    assert cleanser.fragrance_free is True and records["130"].fragrance_free is False
    assert cleanser.extra_fields == {"launched": "2024-03-01"}
    assert isinstance(records["F1"], Faq)


def test_xlsx_errors_name_the_sheet_and_row(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "catalog.xlsx",
        {
            "products": [
                ["id", "name_zh", "category", "price"],
                ["p1", "好", "serum", 10],
                ["p2", "坏", "serum", "abc"],
            ],
            "Sheet2": [["id", "question_zh"], ["f1", "问题"]],
        },
    )
    problems = problems_of(path)
    price = next(p for p in problems if p.field == "price")
    assert price.file == f"{path}[products]" and price.line == 3 and price.record_id == "p2"
    assert f"{path}[products]:3 id=p2 field price" in str(price)
    kind = next(p for p in problems if p.file == f"{path}[Sheet2]")
    assert "name the sheet after the kind" in kind.message


def test_xlsx_that_is_not_a_workbook(tmp_path: Path) -> None:
    text = write(tmp_path, "products.xlsx", "id,name\n1,x\n")
    (problem,) = problems_of(text)
    assert "not an Excel .xlsx workbook" in problem.message and "CSV" in problem.message
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this zip is cut short")
    (problem,) = problems_of(broken)
    assert "cannot open the Excel workbook" in problem.message


def test_duplicate_ids_across_sheets_and_files(tmp_path: Path) -> None:
    make_workbook(
        tmp_path / "catalog.xlsx",
        {
            "products": [["id", "name_zh", "category", "price"], ["p1", "好", "serum", 10]],
            "faqs": [["id", "category", "问题", "答案"], ["p1", "misc", "问", "答"]],
        },
    )
    write(
        tmp_path,
        "faqs.jsonl",
        '{"id": "f1", "category": "misc", "question_zh": "问", "answer_zh": "答"}\n',
    )
    write(
        tmp_path,
        "more.jsonl",
        '{"kind": "faq", "id": "f1", "category": "misc", "question_en": "Q", "answer_en": "A"}\n',
    )
    messages = [str(p) for p in problems_of(tmp_path)]
    assert any(
        "[faqs]:2 id=p1" in m and "also at" in m and "[products] row 2" in m for m in messages
    )
    assert any("more.jsonl:1 id=f1" in m and "already defined in" in m for m in messages)


# ─── JSONL and JSON/YAML lists ───────────────────────────────────────────────────────────────


def test_jsonl_reports_line_numbers(tmp_path: Path) -> None:
    good = '{"id": "f1", "category": "misc", "question_zh": "问", "answer_zh": "答"}'
    path = write(
        tmp_path,
        "faqs.jsonl",
        "\n".join(
            [
                good,
                "",
                '{"id": "f2", "category": "misc", "question_zh": "没有答案"}',
                '{"id": "f3", broken',
                '["not", "a", "record"]',
                '{"id": "x", "kind": "gadget"}',
            ]
        ),
    )
    problems = {p.line: p for p in problems_of(path)}
    assert set(problems) == {3, 4, 5, 6}
    assert problems[3].field == "answer_en" and problems[3].record_id == "f2"
    assert "not valid JSON" in problems[4].message
    assert "one JSON object" in problems[5].message
    assert "unknown record kind 'gadget'" in problems[6].message
    write(tmp_path, "faqs.jsonl", good + "\n")
    (faq,) = load_file(tmp_path / "faqs.jsonl")  # kind from the file name
    assert isinstance(faq, Faq)


def test_yaml_and_json_may_be_a_bare_list_of_records(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mixed.yaml",
        """\
        - {kind: faq, id: f1, category: misc, question_zh: 问, answer_zh: 答}
        - {kind: product, id: p1, name_en: Cream, category: moisturizer, price: 20}
        """,
    )
    assert [r.kind for r in load_file(path)] == ["faq", "product"]
    as_json = write(
        tmp_path,
        "mixed.json",
        '[\n\t{"kind": "policy", "id": "x", "category": "c", "title_en": "T", "body_en": "B"}\n]',
    )  # tab-indented JSON is still JSON
    assert isinstance(load_file(as_json)[0], Policy)
    no_kind = write(tmp_path, "stuff.yaml", "- {id: f1, category: misc}\n")
    (problem,) = problems_of(no_kind)
    assert problem.line == 1 and "no 'kind'" in problem.message


# ─── Markdown ────────────────────────────────────────────────────────────────────────────────

FAQ_MD = """\
---
kind: faq
category: shipping
---
# 配送

## 多久发货？ {#SHIP-1}
付款后48小时内发货。

### en: When do you ship?
Within 48 hours.

## 可以改地址吗？
发货前可以改。

```text
## this is inside a code block, not a question
```

## Do you ship abroad? {category=crossborder}
Yes.
"""


def test_markdown_faq_headings_become_records(tmp_path: Path) -> None:
    records = load_file(write(tmp_path, "shipping.md", FAQ_MD))
    assert len(records) == 3
    first, second, third = records
    assert isinstance(first, Faq) and first.id == "SHIP-1"
    assert (first.question_zh, first.answer_zh) == ("多久发货？", "付款后48小时内发货。")
    assert (first.question_en, first.answer_en) == ("When do you ship?", "Within 48 hours.")
    assert second.question_zh == "可以改地址吗？" and second.question_en == ""
    assert "inside a code block" in second.answer_zh
    assert second.id.startswith("faq-")
    assert (third.question_en, third.answer_en, third.category) == (
        "Do you ship abroad?",
        "Yes.",
        "crossborder",
    )


def test_markdown_ids_are_stable_across_reloads_and_other_edits(tmp_path: Path) -> None:
    path = write(tmp_path, "shipping.md", FAQ_MD)
    before = [r.id for r in load_file(path)]
    assert [r.id for r in load_file(path)] == before
    edited = FAQ_MD.replace("发货前可以改。", "发货前可以在小程序里改。").replace(
        "## Do you ship abroad?", "## 新问题？\n新答案。\n\n## Do you ship abroad?"
    )
    write(tmp_path, "shipping.md", edited)
    after = [r.id for r in load_file(path)]
    assert after[0] == before[0] and after[1] == before[1]  # answer edited: same id
    assert after[3] == before[2]  # a question inserted before it: same id
    write(tmp_path, "shipping.md", FAQ_MD.replace("可以改地址吗？", "可以修改地址吗？"))
    assert load_file(path)[1].id != before[1]  # the question itself changed


def test_markdown_policy_and_errors(tmp_path: Path) -> None:
    policy_md = write(
        tmp_path,
        "returns.md",
        """\
        ---
        kind: policy
        category: returns
        ---
        # 七天无理由退货 {#POL-RET}
        未拆封7天内可退。

        ## 流程
        在订单页申请。

        ## en: 7-day returns
        Unopened items within 7 days.
        """,
    )
    (policy,) = load_file(policy_md)
    assert isinstance(policy, Policy) and policy.id == "POL-RET"
    assert policy.body_zh == "未拆封7天内可退。\n\n## 流程\n在订单页申请。"
    assert policy.title_en == "7-day returns"

    cases = {
        "nofront.md": ("## 问题\n答案\n", "must start with front matter"),
        "noquestions.md": ("---\nkind: faq\ncategory: x\n---\n# only a title\n", "'## ' heading"),
        "twice.md": (
            "---\nkind: faq\ncategory: x\n---\n## 问题\n答\n### zh: 又一个\n答\n",
            "two zh versions",
        ),
        "noanswer.md": (
            "---\nkind: faq\ncategory: x\n---\n## 问题\n\n## 另一个\n答\n",
            "answer_zh",
        ),
    }
    for name, (text, expected) in cases.items():
        problems = problems_of(write(tmp_path, name, text))
        assert expected in "\n".join(str(p) for p in problems), name
    (problem,) = problems_of(tmp_path / "noanswer.md")
    assert problem.line == 5  # the heading of the question without an answer


# ─── directories: all or nothing, what counts as a knowledge file ────────────────────────────


def test_a_bad_file_in_a_directory_means_nothing_is_loaded(tmp_path: Path) -> None:
    for example in EXAMPLES.iterdir():
        (tmp_path / example.name).write_bytes(example.read_bytes())
    assert len(load_records(tmp_path)) == 11
    write(tmp_path, "extra.csv", "kind,id,name_zh,category,price\nproduct,p9,坏,serum,free\n")
    with pytest.raises(KnowledgeFileError) as info:
        load_sources(tmp_path)
    assert info.value.files == [str(tmp_path / "extra.csv")]


def test_knowledge_files_skip_temporary_and_non_knowledge_files(tmp_path: Path) -> None:
    names = {
        "products.csv": "id\n",
        "catalog.xlsx": "",
        "faqs.md": "---\nkind: faq\n---\n",
        "promotions.jsonl": "",
        "policies.yml": "",
        "legacy.xls": "",
        "README.md": "# How to edit the knowledge base\n",
        "notes.md": "---\ntitle: notes\n---\n",
        "~$catalog.xlsx": "",
        ".~lock.products.csv#": "",
        ".#faqs.md": "",
        ".hidden.yaml": "",
        "products.csv~": "",
        "faqs.md.swp": "",
        "image.png": "",
    }
    for name, text in names.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    listed = [p.name for p in knowledge_files(tmp_path)]
    assert listed == [
        "catalog.xlsx",
        "faqs.md",
        "legacy.xls",
        "policies.yml",
        "products.csv",
        "promotions.jsonl",
    ]
    (problem,) = problems_of([tmp_path / "legacy.xls"])
    assert "save as .xlsx" in problem.message


def test_load_sources_says_which_file_each_record_came_from(tmp_path: Path) -> None:
    write(tmp_path, "products.csv", PRODUCTS_CSV)
    write(tmp_path, "shipping.md", FAQ_MD)
    write(tmp_path, "empty.yaml", "kind: policy\nrecords: []\n")
    sources = load_sources(tmp_path)
    assert [(s.path.name, [r.id for r in s.records][:1]) for s in sources] == [
        ("empty.yaml", []),
        ("products.csv", ["P-1"]),
        ("shipping.md", ["SHIP-1"]),
    ]
    assert [r.id for r in load_records(tmp_path)] == [r.id for s in sources for r in s.records]


def test_staff_may_write_values_in_their_own_words() -> None:
    """A spreadsheet says 洁面 / 油皮 / 控油 / 晚上; the records hold the canonical values."""
    from assistant.knowledge.schema import parse_record

    record = parse_record(
        {
            "kind": "product",
            "id": "X-1",
            "name_zh": "洗面奶",
            "category": "洁面",
            "price": 59,
            "skin_types": ["油皮", "Sensitive Skin"],
            "concerns": ["控油"],
            "time_of_day": ["晚上"],
        }
    )
    assert record.category == "cleanser"
    assert record.skin_types == ["oily", "sensitive"]
    assert (record.concerns, record.time_of_day) == (["oiliness"], ["pm"])
