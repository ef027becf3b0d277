"""BM25 keyword index over jieba (Chinese) and word (English) tokens, updated record by record."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache

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


# Bump when tokenize() changes in a way the inputs below do not capture.
TOKENIZER_VERSION = "1"


@lru_cache(maxsize=1)
def tokenizer_fingerprint() -> str:
    """Identifies what :func:`tokenize` produces: stored tokens with another one are stale."""
    digest = hashlib.sha256(f"{TOKENIZER_VERSION}:{jieba.__version__}".encode())
    digest.update(" ".join(sorted(STOPWORDS)).encode())
    digest.update(" ".join(sorted(vocabulary.domain_terms())).encode())
    return digest.hexdigest()[:12]


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

    Each document gets a slot (a small integer, reused after a delete); each term keeps its
    postings as two compact arrays (slots, term frequencies). An update touches only the
    postings of the document's own terms, and a query scores only the postings of the query's
    terms, computing BM25 weights on the fly, so neither costs anything proportional to the
    whole index. Ties in score keep the order in which documents were (last) written.

    ``search`` takes either a per-id ``allow`` callback or, much faster on a large index, a
    boolean ``mask`` over slots (see :meth:`slot`); the knowledge base keeps its filter columns
    by the same slots.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._lock = threading.RLock()
        self._slot_of: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._free: list[int] = []
        self._lengths = np.zeros(0, dtype=np.float32)
        self._order = np.zeros(0, dtype=np.int64)  # write sequence per slot: the tie-breaker
        self._next_order = 1
        self._doc_terms: list[array[int] | None] = []
        self._term_of: dict[str, int] = {}
        self._post_slots: list[array[int]] = []
        self._post_tfs: list[array[int]] = []
        self._total_len = 0
        self._live_terms = 0

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot_of

    @property
    def vocabulary_size(self) -> int:
        """Distinct terms in the indexed documents."""
        return self._live_terms

    @property
    def capacity(self) -> int:
        """One more than the highest slot in use: the length a ``mask`` needs."""
        return len(self._ids)

    def slot(self, doc_id: str) -> int | None:
        """The slot of ``doc_id`` (stable while it is indexed), or None."""
        return self._slot_of.get(doc_id)

    def upsert(self, doc_id: str, text: str) -> None:
        """Index ``text`` under ``doc_id``, replacing what was there."""
        self.upsert_tokens(doc_id, tokenize(text))

    def upsert_tokens(self, doc_id: str, tokens: Iterable[str]) -> int:
        """Index already tokenized text (see :func:`tokenize`); returns the document's slot."""
        tf = Counter(tokens)
        with self._lock:
            slot = self._slot_of.get(doc_id)
            if slot is None:
                slot = self._allocate(doc_id)
            else:
                self._remove_postings(slot)
            terms = array("i")
            for term, count in tf.items():
                term_id = self._term_of.get(term)
                if term_id is None:
                    term_id = self._term_of[term] = len(self._post_slots)
                    self._post_slots.append(array("i"))
                    self._post_tfs.append(array("i"))
                postings = self._post_slots[term_id]
                if not postings:
                    self._live_terms += 1
                postings.append(slot)
                self._post_tfs[term_id].append(count)
                terms.append(term_id)
            length = sum(tf.values())
            self._doc_terms[slot] = terms
            self._lengths[slot] = length
            self._total_len += length
            self._order[slot] = self._next_order
            self._next_order += 1
            return slot

    def delete(self, doc_id: str) -> None:
        with self._lock:
            slot = self._slot_of.pop(doc_id, None)
            if slot is None:
                return
            self._remove_postings(slot)
            self._ids[slot] = None
            self._doc_terms[slot] = None
            self._order[slot] = 0
            self._free.append(slot)

    def _allocate(self, doc_id: str) -> int:
        if self._free:
            slot = self._free.pop()
            self._ids[slot] = doc_id
        else:
            slot = len(self._ids)
            self._ids.append(doc_id)
            self._doc_terms.append(None)
            if slot >= len(self._lengths):
                size = max(64, 2 * len(self._lengths))
                self._lengths = _resized(self._lengths, size)
                self._order = _resized(self._order, size)
        self._slot_of[doc_id] = slot
        return slot

    def _remove_postings(self, slot: int) -> None:
        terms = self._doc_terms[slot]
        if terms is None:
            return
        for term_id in terms:
            postings, tfs = self._post_slots[term_id], self._post_tfs[term_id]
            if len(postings) < 64:
                at = postings.index(slot)
            else:  # find it in C, not in a Python loop; the temporary view is gone at once
                at = int(np.flatnonzero(np.frombuffer(postings, dtype=np.intc) == slot)[0])
            # Order within a posting list does not matter: move the last entry into the gap.
            postings[at], tfs[at] = postings[-1], tfs[-1]
            postings.pop()
            tfs.pop()
            if not postings:
                self._live_terms -= 1
        self._total_len -= int(self._lengths[slot])
        self._lengths[slot] = 0
        self._doc_terms[slot] = None

    def _scores(self, terms: list[str]) -> np.ndarray | None:
        """BM25 score of every slot for the query ``terms`` (None: no term is indexed)."""
        n = len(self._slot_of)
        avgdl = (self._total_len / n) if n else 1.0
        scores = np.zeros(len(self._ids), dtype=np.float32)
        matched = False
        for term in terms:
            term_id = self._term_of.get(term)
            if term_id is None or not self._post_slots[term_id]:
                continue
            # Copies, so no array stays exported (a later append on it would fail).
            rows = np.frombuffer(self._post_slots[term_id], dtype=np.intc).copy()
            tf = np.frombuffer(self._post_tfs[term_id], dtype=np.intc).astype(np.float32)
            df = len(rows)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            norm = self.k1 * (1 - self.b + self.b * self._lengths[rows] / max(avgdl, 1e-9))
            scores[rows] += (idf * tf * (self.k1 + 1) / (tf + norm)).astype(np.float32)
            matched = True
        return scores if matched else None

    def search(
        self,
        query: str,
        k: int = 10,
        allow: Callable[[str], bool] | None = None,
        *,
        mask: np.ndarray | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best ``(id, score)`` pairs with a positive score, best first.

        ``allow`` (a predicate on ids) and ``mask`` (booleans by slot; slots beyond its end
        count as False) drop documents that fail the caller's filters before the cut to ``k``,
        so a filter never leaves fewer than ``k`` hits while more matching ones exist.
        """
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or k <= 0:
            return []
        with self._lock:
            scores = self._scores(terms)
            if scores is None:
                return []
            candidates = np.flatnonzero(scores > 0)
            if mask is not None:
                allowed = np.zeros(len(scores), dtype=bool)
                upto = min(len(mask), len(scores))
                allowed[:upto] = mask[:upto]
                candidates = candidates[allowed[candidates]]
            if allow is None and len(candidates) > k:
                # Only the k best are needed: keep everything scoring at least the k-th best
                # (ties included), then order that short list exactly.
                kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
                candidates = candidates[scores[candidates] >= kth]
            order = candidates[np.lexsort((self._order[candidates], -scores[candidates]))]
            ids = self._ids
            hits: list[tuple[str, float]] = []
            for slot in order:
                doc_id = ids[slot]
                if doc_id is None or (allow is not None and not allow(doc_id)):
                    continue
                hits.append((doc_id, float(scores[slot])))
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
            n = len(self._slot_of)
            term_ids = [self._term_of.get(t) for t in terms]
            dfs = [0 if i is None else len(self._post_slots[i]) for i in term_ids]
            contents: dict[str, frozenset[int]] = {}
            for doc_id in doc_ids:
                slot = self._slot_of.get(doc_id)
                doc_terms = self._doc_terms[slot] if slot is not None else None
                contents[doc_id] = frozenset(doc_terms) if doc_terms is not None else frozenset()
        idfs = [math.log(1 + (n - df + 0.5) / (df + 0.5)) for df in dfs]
        total = sum(idfs)
        if total <= 0:
            return dict.fromkeys(contents, 0.0)
        return {
            doc_id: sum(
                idf for idf, t in zip(idfs, term_ids, strict=True) if t is not None and t in terms
            )
            / total
            for doc_id, terms in contents.items()
        }


def _resized(values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=values.dtype)
    out[: len(values)] = values
    return out
