"""What the knowledge base hands back: sync reports, search hits and statistics."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.knowledge.documents import Metadata
from assistant.knowledge.schema import Record


@dataclass(frozen=True)
class SyncReport:
    """What a sync (or upsert/delete) changed, by record id."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    # Records whose passages went through the model; metadata-only edits (price, stock) and
    # unchanged records need none.
    embedded: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, deleted {len(self.deleted)}, "
            f"unchanged {len(self.unchanged)}, embedded {self.embedded} in {self.seconds:.2f}s"
        )


@dataclass(frozen=True)
class Hit:
    """One search result.

    ``score`` is the fused rank score: use it to order. ``similarity`` is the cosine similarity
    of the query to the record's best-matching passage (clipped to 0-1), computed for every hit,
    also those only BM25 found: use it to decide whether anything relevant was found at all.
    ``title`` is in the query's language unless the search asked for another.
    """

    id: str
    kind: str
    title: str
    score: float
    similarity: float
    metadata: Metadata
    record: Record


@dataclass(frozen=True)
class KBStats:
    """A snapshot of the knowledge base for the console and health checks."""

    name: str
    collection: str
    records: int
    passages: int
    by_kind: dict[str, int]
    embedding_model: str
    dimension: int
    sparse_terms: int
    last_sync: SyncReport | None = None
