"""Match a shopper's question to the FAQ questions staff wrote, by meaning in either language."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.advisor.products import field


@dataclass(frozen=True)
class QuestionMatch:
    record: Any
    similarity: float


class QuestionMatcher:
    """Compares the shopper's question with each FAQ question (zh and en) and policy title.

    A whole FAQ passage (question + answer in two languages) is a diluted target: unrelated
    questions land close to it. Question-to-question similarity separates "asked before" from
    "never asked" much more sharply, so the FAQ answer threshold is applied here.
    """

    def __init__(self, knowledge: Any) -> None:
        self.knowledge = knowledge
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] = ()
        self._records: list[Any] = []
        self._vectors = np.zeros((0, 1), dtype=np.float32)
        # Question text -> vector: after an edit only new or changed questions are embedded,
        # so a big FAQ set stays live within seconds.
        self._cache: dict[str, np.ndarray] = {}

    def _targets(self) -> tuple[tuple[Any, ...], list[tuple[Any, str]]]:
        targets: list[tuple[Any, str]] = []
        for record in self.knowledge.records("faq"):
            for language in ("zh", "en"):
                question = field(record, f"question_{language}")
                if question:
                    targets.append((record, str(question)))
        for record in self.knowledge.records("policy"):
            for language in ("zh", "en"):
                title = field(record, f"title_{language}")
                if title:
                    targets.append((record, str(title)))
        key = tuple((field(r, "id"), text) for r, text in targets)
        return key, targets

    def _refresh(self) -> None:
        key, targets = self._targets()
        if key == self._key:
            return
        texts = [text for _, text in targets]
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if new:
            for text, vector in zip(new, self.knowledge.embedder.embed_queries(new), strict=True):
                self._cache[text] = np.asarray(vector, dtype=np.float32)
        wanted = set(texts)
        self._cache = {t: v for t, v in self._cache.items() if t in wanted}
        vectors = np.stack([self._cache[t] for t in texts]) if texts else self._vectors[:0]
        self._key, self._records, self._vectors = key, [r for r, _ in targets], vectors

    def best(self, question: str) -> QuestionMatch | None:
        """The FAQ or policy whose question is closest in meaning, with its similarity."""
        with self._lock:
            self._refresh()
            if not self._records:
                return None
            query = np.asarray(self.knowledge.embedder.embed_query(question), dtype=np.float32)
            scores = self._vectors @ query
            index = int(np.argmax(scores))
            return QuestionMatch(self._records[index], float(scores[index]))
