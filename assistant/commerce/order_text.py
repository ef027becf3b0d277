"""Read order ids and phone digits out of what shoppers type, in Chinese or English."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# ``DD`` + 12 digits, tolerating spaces or hyphens anywhere ("dd 2025 1118 0042"). The 12 digits
# must not run on into more digits, so an order id never swallows a phone number typed after it.
_ORDER_ID_WITH_PREFIX: Final = re.compile(
    r"(?<![A-Za-z0-9])DD[\s\-]*((?:[0-9][\s\-]*){11}[0-9])(?![0-9])", re.IGNORECASE
)
# Shoppers often drop the ``DD``; a bare run of exactly 12 digits starting with a year is an order
# id too. Separators are not allowed here, or a date and a phone number could glue together.
_ORDER_ID_BARE: Final = re.compile(r"(?<![A-Za-z0-9])(20[0-9]{10})(?![0-9])")
_CANONICAL: Final = re.compile(r"DD[0-9]{12}")
_SEPARATORS: Final = re.compile(r"[\s\-_#]+")

# A whole Chinese mobile number, optionally with +86 and "138 0013 8000"-style grouping.
_MOBILE: Final = re.compile(r"(?<![0-9])(?:\+?86[\s\-]?)?(1[3-9][0-9](?:[\s\-]?[0-9]){8})(?![0-9])")
# Four digits announced as the phone's tail ("尾号3821", "last 4 are 3821", "尾号是 3 8 2 1").
_TAIL_KEYWORDS: Final = (
    r"尾号|后四位|后4位|末四位|末4位|最后四位|最后4位|手机号?码?|电话号?码?"
    r"|last\s*(?:4|four)(?:\s*digits?)?|ending\s*(?:in|with)?|ends\s*(?:in|with)"
    r"|phone(?:\s*number)?|mobile"
)
_ANNOUNCED_TAIL: Final = re.compile(
    rf"(?:{_TAIL_KEYWORDS})[^0-9]{{0,12}}?((?:[0-9][\s\-]?){{3}}[0-9])(?![0-9])", re.IGNORECASE
)
_LONE_FOUR: Final = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")
_NOT_WORD: Final = re.compile(r"[\W_]+")


def _fold(text: str) -> str:
    # NFKC turns full-width "ＤＤ２０２５" and "３８２１" into ASCII, the way shoppers' IMEs vary.
    return unicodedata.normalize("NFKC", text)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


def _order_id_spans(text: str) -> list[tuple[int, int, str]]:
    found = [
        (m.start(), m.end(), "DD" + _digits(m.group(1)))
        for m in _ORDER_ID_WITH_PREFIX.finditer(text)
    ]
    taken = [(start, end) for start, end, _ in found]
    for match in _ORDER_ID_BARE.finditer(text):
        if not any(start <= match.start() < end for start, end in taken):
            found.append((match.start(), match.end(), "DD" + match.group(1)))
    return sorted(found)


def extract_order_id(text: str) -> str | None:
    """Return the first order id in a free message, canonical (``DD202511180042``), or None."""
    spans = _order_id_spans(_fold(text))
    return spans[0][2] if spans else None


def extract_phone_digits(text: str) -> str | None:
    """Return the last 4 phone digits a shopper gave in a free message, or None.

    A full mobile number counts, as do 4 digits introduced as the phone's tail. A lone group of
    4 digits counts only next to an order id ("DD202511180042 3821") or on its own, because in
    other sentences it is as likely a year or a quantity. Digits inside an order id never count.
    """
    folded = _fold(text)
    spans = _order_id_spans(folded)
    # Blank out order ids (same length, so positions stay put) before looking for digits.
    chars = list(folded)
    for start, end, _ in spans:
        chars[start:end] = " " * (end - start)
    rest = "".join(chars)

    mobile = _MOBILE.search(rest)
    if mobile:
        return _digits(mobile.group(1))[-4:]
    announced = _ANNOUNCED_TAIL.search(rest)
    if announced:
        return _digits(announced.group(1))
    lone = _LONE_FOUR.findall(rest)
    if len(lone) == 1 and (spans or _NOT_WORD.sub("", rest) == lone[0]):
        return lone[0]
    return None


def normalize_order_id(raw: str) -> str | None:
    """Canonical order id from a typed value (case, spaces, full-width tolerated), or None.

    ``"ＤＤ２０２５１１１８００４２"``, ``"dd 2025 1118 0042"`` and ``"202511180042"`` all give
    ``"DD202511180042"``; a value with words around the id ("订单号：DD…") is searched.
    """
    compact = _SEPARATORS.sub("", _fold(raw)).upper()
    if _CANONICAL.fullmatch(compact):
        return compact
    if compact.isascii() and compact.isdigit() and len(compact) == 12:
        return "DD" + compact
    return extract_order_id(raw)


def normalize_phone_digits(raw: str) -> str | None:
    """The last 4 digits of whatever digits were given (full number or just 4), or None."""
    digits = _digits(_fold(raw))
    return digits[-4:] if len(digits) >= 4 else None
