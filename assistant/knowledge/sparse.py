"""BM25 keyword index over jieba (Chinese) and word (English) tokens, updated record by record."""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable

import jieba
import numpy as np

from assistant.knowledge import vocabulary

_ASCII_WORD = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")
_HAS_WORD_CHAR = re.compile(r"[\w\u3400-\u9fff]")

# Words that appear in almost every shopper question and carry no product information. BM25's IDF
# would shrink them anyway, but on a ~150 record catalogue it does so only weakly.
_STOPWORD_TEXT = """
    的 了 吗 呢 吧 啊 呀 哦 嘛 么 是 我 你 他 她 它 们 我们 你们 有 和 与 及 或 在 也 都 就 还 又
    很 这 那 这个 那个 哪个 哪些 什么 怎么 怎么样 如何 可以 能 能用 能不能 可不可以 会 要 想 用
    给 对 把 被 一 个 款 一款 一下 请问 推荐 有没有 没有 适合 求 好 比较 最 更 啥
    a an the and or of to in on for with is are was be do does can could would should i me my we
    you your it its this that these those what which how any some have has please recommend good
    best suitable use using there
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_TOKENIZER_LOCK = threading.Lock()
_TOKENIZER: jieba.Tokenizer | None = None


def _tokenizer() -> jieba.Tokenizer:
    """A private jieba tokenizer that knows skincare words, leaving jieba's global one alone."""
    global _TOKENIZER
    with _TOKENIZER_LOCK:
        if _TOKENIZER is None:
            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            for term in vocabulary.domain_terms():
                # Lowercase: text is lowercased before cutting, so "维C" must be known as "维c".
                tok.add_word(term.lower(), freq=20000)
            _TOKENIZER = tok
        return _TOKENIZER


def _stem(word: str) -> str:
    """Crude English plural folding: enough for "serums"/"serum", "berries"/"berry"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Search tokens for mixed Chinese/English text, lowercased, without punctuation/stopwords."""
    text = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    for raw in _tokenizer().cut_for_search(text):
        token = raw.strip()
        if not token or not _HAS_WORD_CHAR.search(token):
            continue
        if _ASCII_WORD.match(token):
            token = _stem(token)
        if token in STOPWORDS:
            continue
        tokens.append(token)
    return tokens


class BM25Index:
    """An Okapi BM25 index that supports adding, replacing and removing documents.

    Postings live in dicts (cheap updates on sync); a numpy copy per term is built lazily on the
    first search after a change, so scoring a query is a few vector operations.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._lock = threading.RLock()
        self._doc_tf: dict[str, Counter[str]] = {}
        self._doc_len: dict[str, int] = {}
        self._postings: dict[str, dict[str, int]] = {}
        self._total_len = 0
        self._compiled: _Compiled | None = None

    def __len__(self) -> int:
        return len(self._doc_len)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._doc_len

    @property
    def vocabulary_size(self) -> int:
        return len(self._postings)

    def upsert(self, doc_id: str, text: str) -> None:
        """Index ``text`` under ``doc_id``, replacing what was there."""
        tf = Counter(tokenize(text))
        with self._lock:
            self._remove(doc_id)
            self._doc_tf[doc_id] = tf
            length = sum(tf.values())
            self._doc_len[doc_id] = length
            self._total_len += length
            for term, count in tf.items():
                self._postings.setdefault(term, {})[doc_id] = count
            self._compiled = None

    def delete(self, doc_id: str) -> None:
        with self._lock:
            self._remove(doc_id)
            self._compiled = None

    def _remove(self, doc_id: str) -> None:
        tf = self._doc_tf.pop(doc_id, None)
        if tf is None:
            return
        self._total_len -= self._doc_len.pop(doc_id)
        for term in tf:
            posting = self._postings[term]
            posting.pop(doc_id, None)
            if not posting:
                del self._postings[term]

    def search(
        self,
        query: str,
        k: int = 10,
        allow: Callable[[str], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best ``(id, score)`` pairs with a positive score, best first.

        ``allow`` drops ids that fail the caller's filters before the cut to ``k``, so a filter
        never leaves fewer than ``k`` hits while more matching ones exist.
        """
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or k <= 0:
            return []
        with self._lock:
            compiled = self._compile()
            scores = np.zeros(len(compiled.ids), dtype=np.float32)
            matched = False
            for term in terms:
                entry = compiled.terms.get(term)
                if entry is None:
                    continue
                rows, weights = entry
                scores[rows] += weights
                matched = True
            if not matched:
                return []
            ids = compiled.ids
        candidates = np.flatnonzero(scores > 0)
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        hits: list[tuple[str, float]] = []
        for row in order:
            doc_id = ids[row]
            if allow is not None and not allow(doc_id):
                continue
            hits.append((doc_id, float(scores[row])))
            if len(hits) >= k:
                break
        return hits

    def coverage(self, query: str, doc_ids: Iterable[str]) -> dict[str, float]:
        """How much of the query each document contains: matched IDF over the query's IDF.

        A query term no document has counts with the highest IDF, so a long question that
        BM25 can match only on one common word gives every document a small coverage.
        """
        terms = list(dict.fromkeys(tokenize(query)))
        with self._lock:
            n = len(self._doc_len)
            postings = [self._postings.get(t, {}) for t in terms]
        idfs = [math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for p in postings]
        total = sum(idfs)
        if total <= 0:
            return dict.fromkeys(doc_ids, 0.0)
        return {
            doc_id: sum(idf for idf, p in zip(idfs, postings, strict=True) if doc_id in p) / total
            for doc_id in doc_ids
        }

    def _compile(self) -> _Compiled:
        if self._compiled is not None:
            return self._compiled
        ids = list(self._doc_len)
        row_of = {doc_id: i for i, doc_id in enumerate(ids)}
        n = len(ids)
        avgdl = (self._total_len / n) if n else 1.0
        lengths = np.array([self._doc_len[d] for d in ids], dtype=np.float32)
        norm = self.k1 * (1 - self.b + self.b * lengths / max(avgdl, 1e-9))
        terms: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, posting in self._postings.items():
            df = len(posting)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            rows = np.fromiter((row_of[d] for d in posting), dtype=np.int64, count=df)
            tf = np.fromiter(posting.values(), dtype=np.float32, count=df)
            terms[term] = (rows, (idf * tf * (self.k1 + 1) / (tf + norm[rows])).astype(np.float32))
        self._compiled = _Compiled(ids, terms)
        return self._compiled


class _Compiled:
    """Per-term precomputed BM25 contributions for the current document set."""

    __slots__ = ("ids", "terms")

    def __init__(self, ids: list[str], terms: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        self.ids = ids
        self.terms = terms
