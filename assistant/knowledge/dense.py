"""In-memory passage vectors per language, searched exactly or by a reduced scan and rerank.

Chroma stays the store of record, but its ``where`` filters do not scale: a query restricted
to one passage language took over a second at 100k records (Chroma materialises every matching
id before its vector search), and the knowledge base searches each language separately, often
with shopper filters. Here the vectors of each passage language sit in one float32 matrix in
the process; filters arrive as a boolean mask over record slots (see
:class:`assistant.knowledge.filters.MetadataColumns`).

What costs time is reading vectors from memory: on the 2-core machine a scan of 100k
passages at 384 dimensions took 14-33 ms. So:

* by default every language is scanned whole, exactly (:data:`EXACT_LIMIT` is unbounded);
* with :data:`EXACT_LIMIT` set, a language with more passages also keeps every vector
  projected on its first :data:`REDUCED_DIMENSIONS` principal components (a quarter of the
  bytes). A query scans those, takes the best :data:`RERANK_FACTOR` x n candidates and ranks
  them by their exact cosine; filters stay exact masks. It is off by default: on the 100k
  benchmark catalogue (``benchmarks/kb_scale.py``, mostly proxy vectors) its recall@40
  against exact search was only 0.24-0.47, and it has not been measured on real embeddings
  at that scale;
* a filter that leaves few passages is searched exactly over just those rows.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["EXACT_LIMIT", "DenseIndex"]

# Passages of one language scanned whole at full precision; above this, reduced scan + rerank.
# Unbounded (exact search only) until the reduced scan's recall is shown on real embeddings.
EXACT_LIMIT = sys.maxsize
REDUCED_DIMENSIONS = 96
# Candidates reranked exactly: RERANK_FACTOR x n, at least RERANK_MIN.
RERANK_FACTOR = 20
RERANK_MIN = 800
# A filter passing at most this many rows is searched exactly over them (a gathered row costs
# about five scanned ones, so beyond this the reduced scan is cheaper).
GATHER_LIMIT = 2_000
# The projection is fitted on a sample, again when the passage count doubles or halves.
PROJECTION_SAMPLE = 8_192
RETRAIN_FACTOR = 2.0


class _Language:
    """The passages of one language: a growable matrix, row ids, record slots, projection."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.lock = threading.Lock()  # searches of other languages need not wait for this one
        self.vectors = np.zeros((0, dimension), dtype=np.float32)
        self.slots = np.zeros(0, dtype=np.int64)  # record slot per row; -1: free row
        self.ids: list[str | None] = []
        self.row_of: dict[str, int] = {}
        self.free: list[int] = []
        self.count = 0
        self.total = np.zeros(dimension, dtype=np.float64)  # sum of live vectors: the centroid
        # Reduced scan (None while the language is small): rows projected on ``basis``.
        self.basis: np.ndarray | None = None  # (dimension, REDUCED_DIMENSIONS)
        self.offset: np.ndarray | None = None  # the mean subtracted before projecting
        self.reduced: np.ndarray | None = None  # (capacity, REDUCED_DIMENSIONS)
        self.trained_at = 0

    @property
    def size(self) -> int:
        return len(self.ids)

    def _grow(self, size: int) -> None:
        if size <= len(self.vectors):
            return
        capacity = max(size, 2 * len(self.vectors), 256)
        vectors = np.zeros((capacity, self.dimension), dtype=np.float32)
        vectors[: len(self.vectors)] = self.vectors
        self.vectors = vectors
        slots = np.full(capacity, -1, dtype=np.int64)
        slots[: len(self.slots)] = self.slots
        self.slots = slots
        if self.reduced is not None:
            reduced = np.zeros((capacity, self.reduced.shape[1]), dtype=np.float32)
            reduced[: len(self.reduced)] = self.reduced
            self.reduced = reduced

    # ------------------------------------------------------------------ writes
    def upsert(self, row_id: str, vector: np.ndarray, slot: int) -> None:
        row = self.row_of.get(row_id)
        if row is None:
            if self.free:
                row = self.free.pop()
                self.ids[row] = row_id
            else:
                row = len(self.ids)
                self._grow(row + 1)
                self.ids.append(row_id)
            self.row_of[row_id] = row
            self.count += 1
        else:
            self.total -= self.vectors[row]
        self.vectors[row] = vector
        self.slots[row] = slot
        self.total += self.vectors[row]
        if self.reduced is not None:
            self.reduced[row] = (self.vectors[row] - self.offset) @ self.basis

    def remove(self, row_id: str) -> None:
        row = self.row_of.pop(row_id)
        self.total -= self.vectors[row]
        self.vectors[row] = 0.0
        self.slots[row] = -1
        self.ids[row] = None
        self.free.append(row)
        self.count -= 1

    def set_slot(self, row_id: str, slot: int) -> None:
        self.slots[self.row_of[row_id]] = slot

    def maintain(self) -> None:
        """Fit, refit or drop the projection as the passage count requires."""
        if self.count <= EXACT_LIMIT:
            self.basis = self.offset = self.reduced = None
            self.trained_at = 0
        elif self.basis is None or not (
            self.trained_at / RETRAIN_FACTOR <= self.count <= self.trained_at * RETRAIN_FACTOR
        ):
            self._fit()

    def _fit(self) -> None:
        live = np.flatnonzero(self.slots[: self.size] >= 0)
        rng = np.random.default_rng(0)  # deterministic: same data, same projection
        sample = self.vectors[rng.choice(live, min(len(live), PROJECTION_SAMPLE), replace=False)]
        offset = (self.total / max(1, self.count)).astype(np.float32)
        _, _, components = np.linalg.svd(sample - offset, full_matrices=False)
        basis = np.ascontiguousarray(components[:REDUCED_DIMENSIONS].T, dtype=np.float32)
        reduced = np.zeros((len(self.vectors), basis.shape[1]), dtype=np.float32)
        for start in range(0, self.size, 8192):  # bounded temporary memory
            stop = min(start + 8192, self.size)
            reduced[start:stop] = (self.vectors[start:stop] - offset) @ basis
        self.basis, self.offset, self.reduced = basis, offset, reduced
        self.trained_at = self.count

    # ------------------------------------------------------------------ search
    def search(
        self, query: np.ndarray, n: int, slot_mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows and cosines of the ``n`` best live rows passing ``slot_mask``, best first."""
        size = self.size
        if size == 0 or n <= 0 or self.count == 0:
            return _EMPTY_ROWS, _EMPTY_SCORES
        slots = self.slots[:size]
        allowed: np.ndarray | None = None
        n_allowed = self.count
        if slot_mask is not None:
            # Slot -1 (a free row) reads the trailing False; slots past the mask fail too.
            padded = np.zeros(max(len(slot_mask), int(slots.max()) + 1) + 1, dtype=bool)
            padded[: len(slot_mask)] = slot_mask
            allowed = padded[slots]
            n_allowed = int(np.count_nonzero(allowed))
            if n_allowed == 0:
                return _EMPTY_ROWS, _EMPTY_SCORES
            if n_allowed <= GATHER_LIMIT:
                rows = np.flatnonzero(allowed)
                return _top(rows, self.vectors[rows] @ query, n)
        n = min(n, n_allowed)
        candidates = max(RERANK_MIN, RERANK_FACTOR * n)
        if self.reduced is None or 2 * candidates >= n_allowed:
            scores = self.vectors[:size] @ query
            self._exclude(scores, allowed)
            return _top(np.arange(size), scores, n)
        assert self.basis is not None
        coarse = self.reduced[:size] @ (query @ self.basis)  # q . offset: same for every row
        self._exclude(coarse, allowed)
        rows = _best(coarse, candidates)
        return _top(rows, self.vectors[rows] @ query, n)

    def _exclude(self, scores: np.ndarray, allowed: np.ndarray | None) -> None:
        """Give rows that may not be returned (filtered out, free) a score of -inf."""
        if allowed is not None:
            scores[~allowed] = -np.inf
        elif self.free:
            scores[self.free] = -np.inf


def _best(scores: np.ndarray, n: int) -> np.ndarray:
    """Indexes of the ``n`` highest ``scores``, in no order.

    A full partition of 100k scores took ~1 ms; a threshold from a strided sample first keeps
    only a few thousand, and the result is the same whenever enough pass it.
    """
    if n >= len(scores):
        return np.arange(len(scores))
    stride = 16
    sample = scores[::stride]
    keep = min(len(sample), 2 * n // stride + 1)
    if keep < len(sample):
        threshold = np.partition(sample, len(sample) - keep)[len(sample) - keep]
        picked = np.flatnonzero(scores >= threshold)
        if len(picked) >= n:
            part = np.argpartition(scores[picked], len(picked) - n)[len(picked) - n :]
            return picked[part]
    return np.argpartition(scores, len(scores) - n)[len(scores) - n :]


_EMPTY_ROWS = np.zeros(0, dtype=np.int64)
_EMPTY_SCORES = np.zeros(0, dtype=np.float32)


def _top(rows: np.ndarray, scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best ``rows`` by ``scores``, best first (ties: lower row first)."""
    if n <= 0:
        return _EMPTY_ROWS, _EMPTY_SCORES
    if n < len(rows):
        keep = _best(scores, n)
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]


class DenseIndex:
    """Passage vectors by row id, searchable per passage language with a record-slot mask.

    Thread-safe. A search locks only its language, so the languages of one query can be
    searched in parallel; writes take the index lock and the lock of each language they touch.
    """

    def __init__(self, dimension: int) -> None:
        self.dimension = int(dimension)
        self._lock = threading.RLock()
        self._languages: dict[str, _Language] = {}
        self._lang_of: dict[str, str] = {}  # row id -> passage language

    def __len__(self) -> int:
        return len(self._lang_of)

    def __contains__(self, row_id: object) -> bool:
        return row_id in self._lang_of

    def counts(self) -> dict[str, int]:
        """Live passages per language."""
        with self._lock:
            return {lang: rows.count for lang, rows in self._languages.items() if rows.count}

    def _language(self, lang: str) -> _Language:
        rows = self._languages.get(lang)
        if rows is None:
            rows = self._languages[lang] = _Language(self.dimension)
        return rows

    def upsert(
        self,
        row_ids: Sequence[str],
        langs: Sequence[str],
        vectors: np.ndarray,
        slots: Sequence[int],
    ) -> None:
        """Add or replace rows: ``vectors[i]`` is row ``row_ids[i]`` of record slot ``slots[i]``."""
        if len(row_ids) == 0:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of dimension {self.dimension}")
        with self._lock:
            moved = [
                r
                for r, lang in zip(row_ids, langs, strict=True)
                if self._lang_of.get(r, lang) != lang
            ]
            self.delete(moved)  # a row id that changed language (not in practice)
            by_lang: dict[str, list[int]] = {}
            for i, lang in enumerate(langs):
                by_lang.setdefault(lang, []).append(i)
            for lang, members in by_lang.items():
                rows = self._language(lang)
                with rows.lock:
                    for i in members:
                        rows.upsert(row_ids[i], vectors[i], int(slots[i]))
                        self._lang_of[row_ids[i]] = lang
                    rows.maintain()

    def load(
        self,
        row_ids: Sequence[str],
        langs: Sequence[str],
        vectors: np.ndarray,
        positions: Sequence[int],
        slots: Sequence[int],
    ) -> None:
        """Fill an empty index at start-up: row ``row_ids[i]`` is ``vectors[positions[i]]``.

        Copies straight from the store's matrix into each language's, in chunks, so 100k
        records' vectors are not held a third time in between.
        """
        with self._lock:
            if self._lang_of:
                raise RuntimeError("load() fills an empty index; use upsert()")
            by_lang: dict[str, list[int]] = {}
            for i, lang in enumerate(langs):
                by_lang.setdefault(lang, []).append(i)
            for lang, members in by_lang.items():
                rows = self._languages[lang] = _Language(self.dimension)
                rows._grow(len(members))
                at = np.asarray([positions[i] for i in members], dtype=np.int64)
                for start in range(0, len(members), 8192):
                    part = at[start : start + 8192]
                    rows.vectors[start : start + len(part)] = vectors[part]
                    rows.total += rows.vectors[start : start + len(part)].sum(
                        axis=0, dtype=np.float64
                    )
                rows.slots[: len(members)] = [slots[i] for i in members]
                rows.ids = [row_ids[i] for i in members]
                rows.row_of = {row_ids[i]: row for row, i in enumerate(members)}
                rows.count = len(members)
                for i in members:
                    self._lang_of[row_ids[i]] = lang
                rows.maintain()

    def set_slots(self, row_ids: Iterable[str], slot: int) -> None:
        """Point existing rows at another record slot."""
        with self._lock:
            for row_id in row_ids:
                lang = self._lang_of.get(row_id)
                if lang is not None:
                    rows = self._languages[lang]
                    with rows.lock:
                        rows.set_slot(row_id, slot)

    def delete(self, row_ids: Iterable[str]) -> None:
        with self._lock:
            by_lang: dict[str, list[str]] = {}
            for row_id in row_ids:
                lang = self._lang_of.pop(row_id, None)
                if lang is not None:
                    by_lang.setdefault(lang, []).append(row_id)
            for lang, members in by_lang.items():
                rows = self._languages[lang]
                with rows.lock:
                    for row_id in members:
                        rows.remove(row_id)
                    rows.maintain()

    def vectors(self, row_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors by row id (unknown ids are left out)."""
        with self._lock:
            out = {}
            for row_id in row_ids:
                lang = self._lang_of.get(row_id)
                if lang is not None:
                    rows = self._languages[lang]
                    with rows.lock:
                        out[row_id] = rows.vectors[rows.row_of[row_id]].copy()
            return out

    def centroid(self, lang: str) -> np.ndarray | None:
        """The mean vector of a language's passages (None when it has none)."""
        rows = self._languages.get(lang)
        if rows is None:
            return None
        with rows.lock:
            if rows.count == 0:
                return None
            return (rows.total / rows.count).astype(np.float32)

    def search(
        self, query: np.ndarray, lang: str, n: int, slot_mask: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """The ``n`` rows of language ``lang`` most cosine-similar to ``query`` (a unit
        vector) among those whose record slot passes ``slot_mask``: ``(row id, cosine)``."""
        query = np.asarray(query, dtype=np.float32)
        rows = self._languages.get(lang)
        if rows is None:
            return []
        with rows.lock:
            found, scores = rows.search(query, n, slot_mask)
            ids = rows.ids
            return [(str(ids[r]), float(s)) for r, s in zip(found, scores, strict=True)]
