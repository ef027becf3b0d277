"""`assistant kb …` on a knowledge base on disk: what staff type and what they get back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assistant.cli import app
from tests.knowledge.test_kb_library import faq, product, write

runner = CliRunner()


@pytest.fixture
def brand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    write(
        folder / "products.yaml",
        "product",
        [
            product("CL-1", "氨基酸洗面奶", "Amino acid cleanser", 89),
            product("CL-2", "控油洁面啫喱", "Oil control gel cleanser", 99, stock=0),
        ],
    )
    write(folder / "faqs.yaml", "faq", [faq("FAQ-1", "多久发货？", "下单后48小时内发货。")])
    config = tmp_path / "assistant.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "data"),
                "knowledge": {
                    "directory": str(folder),
                    "name": "brand",
                    "bases": {"other": {"directory": None}},
                },
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("SIYU_CONFIG", str(config))
    for variable in ("SIYU_DATA_DIR", "SIYU_KNOWLEDGE_DIR", "SIYU_DATABASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    return folder


def kb(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["kb", *args])
    return result.exit_code, result.output


def as_json(*args: str) -> object:
    result = runner.invoke(app, ["kb", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sync_search_show_history_rollback(brand: Path) -> None:
    change = as_json("sync")
    assert change["version"] == 1 and sorted(change["added"]) == ["CL-1", "CL-2", "FAQ-1"]
    assert as_json("sync")["version"] is None  # nothing changed on disk

    hits = as_json("search", "洗面奶", "-k", "2", "--filter", "in_stock=true")
    assert [h["id"] for h in hits] == ["CL-1"]
    code, text = kb("search", "how long does shipping take", "-k", "1")
    assert code == 0 and "FAQ-1" in text

    shown = as_json("show", "CL-1")
    assert shown["record"]["name_zh"] == "氨基酸洗面奶"
    assert shown["source"] == "file:products.yaml" and shown["version"] == 1

    deleted = as_json("delete", "CL-1")
    assert deleted["deleted"] == ["CL-1"] and deleted["version"] == 2
    code, text = kb("show", "CL-1")
    assert code == 2 and "no record 'CL-1'" in text

    versions = as_json("history")
    assert [(v["version"], v["action"], v["actor"]) for v in versions] == [
        (2, "delete", "cli"),
        (1, "sync", "cli"),
    ]
    restored = as_json("rollback", "1")
    assert restored["added"] == ["CL-1"] and restored["version"] == 3
    assert as_json("show", "CL-1")["record"]["price"] == 89

    stats = as_json("stats")
    assert stats["records"] == 3 and stats["by_kind"] == {"faq": 1, "product": 2}
    assert stats["version"] == 3 and stats["last_sync"]["ok"] is True


def test_ingest_into_another_knowledge_base_and_bad_input(brand: Path, tmp_path: Path) -> None:
    extra = tmp_path / "rose.yaml"
    write(extra, "product", [product("R-1", "玫瑰精油洗面奶", "Rose oil wash", 199)])
    change = as_json("ingest", str(extra), "--kb", "other")
    assert change["added"] == ["R-1"]
    assert [h["id"] for h in as_json("search", "玫瑰", "--kb", "other")] == ["R-1"]
    # The brand's own knowledge base does not see it.
    as_json("sync")
    assert "R-1" not in {h["id"] for h in as_json("search", "玫瑰精油洗面奶", "-k", "10")}

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "kind: faq\nrecords:\n  - id: F-9\n    category: shipping\n    question_zh: 包邮吗\n",
        encoding="utf-8",
    )
    code, text = kb("ingest", str(broken), "--kb", "other")
    assert code == 1 and "broken.yaml:3" in text and "answer_en" in text
    assert "nothing changed" in text
    code, text = kb("validate", str(broken))
    assert code == 1 and "broken.yaml:3" in text

    code, text = kb("search", "x", "--kb", "nope")
    assert code == 2 and "unknown knowledge base 'nope'" in text
    code, text = kb("rollback", "42")
    assert code == 2 and "no version 42" in text
    code, text = kb("ingest", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in text
    code, text = kb("search", "x", "--filter", "nonsense")
    assert code == 2 and "key=value" in text


def test_export_reads_back_unchanged(brand: Path, tmp_path: Path) -> None:
    as_json("sync")
    out = tmp_path / "export.jsonl"
    code, text = kb("export", "-o", str(out))
    assert code == 0 and "wrote 3 records" in text
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in lines) == ["CL-1", "CL-2", "FAQ-1"]
    # Re-ingesting the export into an empty knowledge base gives the same records.
    as_json("ingest", str(out), "--kb", "other")
    copy = as_json("show", "CL-2", "--kb", "other")["record"]
    assert copy == as_json("show", "CL-2")["record"]
