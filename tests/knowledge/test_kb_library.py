"""The knowledge library: versioned sync from files, console edits, rollback, isolated brands."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from assistant.knowledge.base import open_knowledge_base
from assistant.knowledge.embedding import Embedder, ensure_default_model
from assistant.knowledge.history import VersionLog
from assistant.knowledge.library import (
    KnowledgeLibrary,
    RecordValidationError,
    UnknownKnowledgeBase,
    UnknownVersion,
)
from assistant.knowledge.loader import KnowledgeFileError

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def product(pid: str, name_zh: str, name_en: str, price: float, **extra: object) -> dict:
    return {
        "id": pid,
        "name_zh": name_zh,
        "name_en": name_en,
        "category": "cleanser",
        "price": price,
        "skin_types": ["oily"],
        "description_zh": f"{name_zh}，温和洁面。",
        **extra,
    }


def faq(fid: str, question: str, answer: str) -> dict:
    return {"id": fid, "category": "shipping", "question_zh": question, "answer_zh": answer}


def write(path: Path, kind: str, records: list[dict]) -> None:
    path.write_text(
        yaml.safe_dump({"kind": kind, "records": records}, allow_unicode=True), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(ensure_default_model())


def _postgres_available() -> bool:
    try:
        with create_engine(POSTGRES_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kb.db'}"
    if not _postgres_available():
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is expected on every machine of this project")
    return POSTGRES_URL


@pytest.fixture
def brand_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    write(
        folder / "products.yaml",
        "product",
        [
            product("CL-1", "氨基酸洗面奶", "Amino acid cleanser", 89),
            product("CL-2", "控油洁面啫喱", "Oil control gel cleanser", 99),
        ],
    )
    write(folder / "faqs.yaml", "faq", [faq("FAQ-1", "多久发货？", "下单后48小时内发货。")])
    return folder


def open_library(
    tmp_path: Path,
    embedder: Embedder,
    database_url: str,
    directories: dict[str, Path | None],
    groups: dict[str, str] | None = None,
) -> KnowledgeLibrary:
    bases = {
        name: (open_knowledge_base(tmp_path / "chroma", name, embedder), directory)
        for name, directory in directories.items()
    }
    library = KnowledgeLibrary(
        bases, VersionLog(database_url), default=next(iter(directories)), groups=groups
    )
    return library


@pytest.fixture
def library(tmp_path: Path, embedder: Embedder, brand_dir: Path) -> Iterator[KnowledgeLibrary]:
    lib = open_library(tmp_path, embedder, f"sqlite:///{tmp_path / 'kb.db'}", {"brand": brand_dir})
    lib.start()
    yield lib
    lib.log.close()


def test_file_sync_is_versioned_and_incremental(library: KnowledgeLibrary, brand_dir: Path) -> None:
    first = library.history("brand")
    assert [v.version for v in first] == [1]
    assert set(first[0].added) == {"CL-1", "CL-2", "FAQ-1"}
    assert first[0].actor == "startup"

    # Nothing changed on disk: no new version, nothing embedded.
    again = library.sync_directory("brand", actor="alice")
    assert again.version is None and again.report.embedded == 0

    write(
        brand_dir / "products.yaml",
        "product",
        [product("CL-1", "氨基酸洗面奶", "Amino acid cleanser", 89, stock=0)],  # CL-2 gone
    )
    change = library.sync_directory("brand", actor="alice")
    assert change.version == 2
    assert change.report.updated == ("CL-1",) and change.report.deleted == ("CL-2",)
    assert change.report.embedded == 0  # stock is metadata: no re-embedding
    assert library.get("brand", "CL-1").record.stock == 0
    assert library.get("brand", "CL-2") is None
    latest = library.history("brand")[0]
    assert (latest.version, latest.actor, latest.deleted) == (2, "alice", ("CL-2",))


def test_bad_file_changes_nothing_and_reports_where(
    library: KnowledgeLibrary, brand_dir: Path
) -> None:
    (brand_dir / "products.yaml").write_text(
        "kind: product\nrecords:\n  - id: CL-1\n    name_zh: 洗面奶\n    category: cleanser\n"
        "    price: abc\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeFileError):
        library.sync_directory("brand", actor="bob")
    # The shoppers still see yesterday's catalogue, whole.
    assert {r.record.id for r in library.records("brand")} == {"CL-1", "CL-2", "FAQ-1"}
    assert library.history("brand")[0].version == 1
    status = library.status("brand")
    assert not status.ok and status.actor == "bob"
    problem = status.errors[0]
    assert problem["file"].endswith("products.yaml") and problem["line"] == 6
    assert problem["field"] == "price"


def test_console_edit_survives_file_sync_until_the_file_changes(
    library: KnowledgeLibrary, brand_dir: Path
) -> None:
    edited = library.get("brand", "FAQ-1").record.model_dump(mode="json")
    edited["answer_zh"] = "双十一期间72小时内发货。"
    change = library.upsert("brand", [edited], actor="console-user", source="console")
    assert change.version == 2 and change.report.updated == ("FAQ-1",)
    info = library.get("brand", "FAQ-1")
    assert info.source == "console" and info.updated_by == "console-user"

    # The file did not change that FAQ: the console's answer stays.
    library.sync_directory("brand")
    assert "72小时" in library.get("brand", "FAQ-1").record.answer_zh

    # Staff deleted a product in the console: a sync must not bring it back.
    library.delete("brand", ["CL-2"], actor="console-user")
    library.sync_directory("brand")
    assert library.get("brand", "CL-2") is None

    # Once the file itself says something new about the FAQ, the file wins.
    write(brand_dir / "faqs.yaml", "faq", [faq("FAQ-1", "多久发货？", "下单后24小时内发货。")])
    library.sync_directory("brand")
    assert "24小时" in library.get("brand", "FAQ-1").record.answer_zh


def test_rollback_restores_an_earlier_version(library: KnowledgeLibrary) -> None:
    library.delete("brand", ["CL-1"], actor="intern")
    added = library.upsert(
        "brand",
        [
            {
                "kind": "faq",
                "category": "returns",
                "question_zh": "能退货吗？",
                "answer_zh": "七天无理由。",
            }
        ],
        actor="intern",
    )
    new_id = added.report.added[0]
    assert new_id.startswith("FAQ-")
    assert library.search("brand", "氨基酸洗面奶", k=3)[0].id != "CL-1"

    back = library.rollback("brand", 1, actor="lead")
    assert back.version == 4
    assert back.report.added == ("CL-1",) and back.report.deleted == (new_id,)
    assert library.search("brand", "氨基酸洗面奶", k=1)[0].id == "CL-1"
    assert library.history("brand")[0].note == "to 1"
    with pytest.raises(UnknownVersion):
        library.rollback("brand", 99, actor="lead")


def test_invalid_records_from_the_api_write_nothing(library: KnowledgeLibrary) -> None:
    with pytest.raises(RecordValidationError) as caught:
        library.upsert(
            "brand",
            [
                {"kind": "faq", "id": "FAQ-2", "category": "shipping", "question_zh": "包邮吗"},
                {
                    "kind": "product",
                    "id": "CL-9",
                    "name_zh": "x",
                    "category": "cleanser",
                    "price": "abc",
                },
                {"kind": "coupon", "id": "C-1"},
            ],
            actor="api",
        )
    fields = {(p.index, p.field) for p in caught.value.problems}
    assert (0, "answer_en") in fields and (1, "price") in fields and (2, "kind") in fields
    assert library.get("brand", "FAQ-2") is None
    assert library.history("brand")[0].version == 1


def test_brands_never_see_each_other(tmp_path: Path, embedder: Embedder, brand_dir: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    write(
        other / "products.yaml", "product", [product("B-1", "玫瑰精油洗面奶", "Rose oil wash", 199)]
    )
    lib = open_library(
        tmp_path,
        embedder,
        f"sqlite:///{tmp_path / 'kb.db'}",
        {"brand": brand_dir, "rose": other},
        groups={"wecom:rose-vip": "rose", "telegram:*": "rose"},
    )
    lib.start()
    assert lib.kb_for_conversation("wecom:rose-vip:u1") == "rose"
    assert lib.kb_for_conversation("wecom:other-group:u1") == "brand"
    assert lib.kb_for_conversation("telegram:123:u9") == "rose"
    assert lib.kb_for_conversation("web:room:alice") == "brand"

    brand_ids = {h.id for h in lib.base_for_conversation("web:room:a").search("玫瑰精油洗面奶", 10)}
    rose_ids = {h.id for h in lib.base_for_conversation("wecom:rose-vip:a").search("洗面奶", 10)}
    assert "B-1" not in brand_ids and brand_ids <= {"CL-1", "CL-2", "FAQ-1"}
    assert rose_ids == {"B-1"}
    assert [v.version for v in lib.history("rose")] == [1]
    with pytest.raises(UnknownKnowledgeBase):
        lib.base("nope")


def test_history_survives_a_restart_and_the_index_follows_the_log(
    tmp_path: Path, embedder: Embedder, brand_dir: Path, database_url: str
) -> None:
    kb = f"brand-{uuid.uuid4().hex[:8]}"  # the PostgreSQL database is shared by every run
    lib = open_library(tmp_path, embedder, database_url, {kb: brand_dir})
    lib.start()
    lib.upsert(kb, [faq("FAQ-9", "支持花呗吗？", "支持花呗分期。") | {"kind": "faq"}], "ann")
    # A write the log never recorded (a crash between index and log) ...
    lib.base(kb).delete(["FAQ-9"])
    lib.log.close()

    again = open_library(tmp_path, embedder, database_url, {kb: brand_dir})
    again.start()
    # ... is undone at start-up: the index holds what the log says.
    assert again.get(kb, "FAQ-9") is not None
    assert again.search(kb, "可以用花呗吗", k=1)[0].id == "FAQ-9"
    assert [v.version for v in again.history(kb)] == [2, 1]
    again.log.close()


def test_configured_chroma_server_is_shared_by_app_instances(
    chroma_server: int, tmp_path: Path, brand_dir: Path
) -> None:
    from assistant.bootstrap import open_library as open_configured
    from assistant.config import load_settings

    def instance(data_dir: Path) -> KnowledgeLibrary:
        settings = load_settings(
            path=tmp_path / "absent.yml",
            data_dir=data_dir,
            database_url=f"sqlite:///{tmp_path / 'shared.db'}",
            knowledge={
                "directory": brand_dir,
                "name": f"srv{uuid.uuid4().hex[:6]}" if data_dir.name == "a" else shared_name,
                "chroma_url": f"http://127.0.0.1:{chroma_server}",
            },
        )
        return open_configured(settings)

    shared_name = ""
    first = instance(tmp_path / "a")
    shared_name = first.default
    first.start()
    assert first.search(shared_name, "多久发货", k=1)[0].id == "FAQ-1"
    # Another app instance (own data dir, same server and database) embeds nothing.
    second = instance(tmp_path / "b")
    second.start()
    assert second.base(shared_name).stats().records == 3
    assert second.sync_directory(shared_name).report.embedded == 0
    assert second.search(shared_name, "氨基酸洁面", k=1)[0].id == "CL-1"
