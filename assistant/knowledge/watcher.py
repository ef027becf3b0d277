"""Sync a knowledge directory when staff save a file in it (optional; `knowledge.watch`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from watchfiles import Change, DefaultFilter, awatch

from assistant.knowledge.formats import is_temporary
from assistant.knowledge.loader import SUPPORTED_SUFFIXES, KnowledgeFileError

log = logging.getLogger(__name__)

# Editors save in bursts (temp file, rename, chmod): wait this long for the burst to end, so a
# save is synced once and still goes live well within the 2 s staff are promised.
DEBOUNCE_MS = 300


class KnowledgeFileFilter(DefaultFilter):
    """Knowledge files, deleted ones included; editor temp files (``~$x.xlsx``, ``x.swp``) not."""

    def __call__(self, change: Change, path: str) -> bool:
        file = Path(path)
        if is_temporary(file) or not file.name.lower().endswith(SUPPORTED_SUFFIXES):
            return False
        return super().__call__(change, path)


async def watch_directories(
    library: Any,
    kbs: Iterable[str] | None = None,
    *,
    on_change: Callable[[Any], None] | None = None,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Run until cancelled (or ``stop_event``): sync each knowledge base whose files changed.

    A bad save is not fatal: the knowledge base keeps its last good state and the library
    records the errors for the console; the next good save syncs again.
    """
    folders = {
        library.directory(kb).resolve(): kb
        for kb in (kbs if kbs is not None else library.names())
        if library.directory(kb) is not None
    }
    if not folders:
        return
    log.info("watching %s", ", ".join(str(f) for f in folders))
    async for changes in awatch(
        *folders,
        watch_filter=KnowledgeFileFilter(),
        debounce=DEBOUNCE_MS,
        step=50,
        recursive=False,
        stop_event=stop_event,
    ):
        touched = {
            folders[Path(p).resolve().parent]
            for _, p in changes
            if Path(p).resolve().parent in folders
        }
        for kb in sorted(touched):
            try:
                change = await asyncio.to_thread(library.sync_directory, kb, "watcher")
            except KnowledgeFileError as problem:
                log.warning("knowledge base %s: saved files not synced: %s", kb, problem)
                continue
            except Exception:  # noqa: BLE001 - the watcher must outlive one failed sync
                log.exception("knowledge base %s: sync after a save failed", kb)
                continue
            if on_change is not None:
                on_change(change)
