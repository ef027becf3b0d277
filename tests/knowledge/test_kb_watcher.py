"""A file saved in a knowledge directory is searchable within 2 s, with no restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from assistant.knowledge.base import open_knowledge_base
from assistant.knowledge.embedding import Embedder, ensure_default_model
from assistant.knowledge.history import VersionLog
from assistant.knowledge.library import KnowledgeLibrary
from assistant.knowledge.watcher import watch_directories
from tests.knowledge.test_kb_library import faq, write


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(ensure_default_model())


async def _until(check, timeout: float) -> float:  # noqa: ANN001 - a zero-argument predicate
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if await asyncio.to_thread(check):
            return time.perf_counter() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"not visible within {timeout} s")


async def test_saved_file_goes_live_and_a_bad_save_keeps_the_last_good_state(
    tmp_path: Path, embedder: Embedder
) -> None:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    write(folder / "faqs.yaml", "faq", [faq("FAQ-1", "多久发货？", "48小时内发货。")])
    library = KnowledgeLibrary(
        {"brand": (open_knowledge_base(tmp_path / "chroma", "brand", embedder), folder)},
        VersionLog(f"sqlite:///{tmp_path / 'kb.db'}"),
        default="brand",
    )
    library.start()
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_directories(library, stop_event=stop))
    await asyncio.sleep(0.3)  # let the watcher subscribe
    try:
        write(
            folder / "faqs.yaml",
            "faq",
            [
                faq("FAQ-1", "多久发货？", "48小时内发货。"),
                faq("FAQ-2", "可以开发票吗？", "可以，下单时填写抬头即可开具电子发票。"),
            ],
        )
        seconds = await _until(
            lambda: library.search("brand", "能开发票吗", k=1)[0].id == "FAQ-2", timeout=2.0
        )
        assert seconds < 2.0
        # The index answers a moment before the version row is written: wait for it too.
        await _until(lambda: library.history("brand")[0].actor == "watcher", timeout=2.0)

        # An editor's temp file is not knowledge; a broken save is reported, not applied.
        (folder / ".faqs.yaml.swp").write_text("garbage", encoding="utf-8")
        (folder / "faqs.yaml").write_text("kind: faq\nrecords: [\n", encoding="utf-8")
        await _until(lambda: not library.status("brand").ok, timeout=2.0)
        assert library.get("brand", "FAQ-2") is not None
        assert "faqs.yaml" in library.status("brand").errors[0]["file"]
    finally:
        stop.set()
        await asyncio.wait_for(watcher, timeout=5)
        library.log.close()
