"""When two shopper questions count as the same one in the "top questions" list."""

from __future__ import annotations

import hashlib
import re

from assistant.feedback.unanswered import clean_text, normalise

# Greetings and sentence-final particles do not change what is asked: "请问孕妇能用吗?" and
# "孕妇能用" are one question. Only stripped at the ends, never inside the question.
_LEADING = re.compile(r"^(?:请问|你好|您好|哈喽|hello|hi|hey|please|pls)+")
_TRAILING = re.compile(r"(?:吗|呢|啊|呀|吧|嘛|哈|么|please|pls|thanks|thx)+$")


def cluster_text(question: str) -> str:
    """The normalised form two askings of one question share ("" for an empty message)."""
    folded = normalise(question) if question.strip() else ""
    trimmed = _TRAILING.sub("", _LEADING.sub("", folded))
    return trimmed or folded


def cluster_key(question: str) -> str | None:
    """A short, index-friendly key of :func:`cluster_text`; None when nothing was asked."""
    text = cluster_text(question)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] if text else None


def shown_text(question: str, limit: int = 500) -> str:
    """The wording staff see: leading mentions removed, spaces collapsed, length capped."""
    return clean_text(question)[:limit]
