"""Decide per message whether a shopper wrote in Chinese or English."""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["zh", "en"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A word of letters; "DD2025…" order numbers and "SPF50" are codes, not English.
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9])")


def detect_language(text: str, default: Language = "zh") -> Language:
    """Return ``"zh"`` if the message is written in Chinese, ``"en"`` if in English.

    Shoppers mix scripts ("这个serum多少钱", "DD2025 在哪"): any Han character makes the
    message Chinese, because a Chinese reader can always read the answer, while an English
    reader may not. Messages with neither (emoji, digits) keep ``default``.
    """
    if _HAN.search(text):
        return "zh"
    if _LATIN_WORD.search(text):
        return "en"
    return default
