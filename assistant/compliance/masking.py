"""Mask personal data (PIPL data minimisation) in group replies and in every log line.

Four kinds are masked, each by one precompiled pattern:

- mainland mobile numbers ``13800003821`` / ``+86 138-0000-3821`` → ``138****3821``
- 18-digit resident ID numbers → first 3 and last 4 kept, ``110**********1234``
- e-mail addresses ``zhang.wei@example.com`` → ``z***@example.com``
- street addresses: province/city/district kept, the road, number and room after it masked:
  ``浙江省杭州市西湖区文三路123号5幢501室`` → ``浙江省杭州市西湖区****``

Order numbers (``DD202511200015``) and tracking numbers (``SF1234567890123``) are not
touched: a number glued to letters or to more digits is never a phone or ID number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

# Cheap gate: every kind needs a digit or an "@"; most log lines and replies have neither.
_HINT: Final = re.compile(r"[0-9@]")

# Letters or digits right before/after mean "part of a code" (DD…, SF…, longer digit runs).
_ID_CARD: Final = re.compile(
    r"(?<![0-9A-Za-z])([1-9][0-9]{2})[0-9]{3}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])"
    r"(?:0[1-9]|[12][0-9]|3[01])([0-9]{3}[0-9Xx])(?![0-9A-Za-z])"
)
_MOBILE: Final = re.compile(
    r"(?<![0-9A-Za-z])(?:\+?86[\s\-]?)?(1[3-9][0-9])[\s\-]?[0-9]{4}[\s\-]?([0-9]{4})(?![0-9])"
)
_EMAIL: Final = re.compile(
    r"(?<![\w.%+\-])([A-Za-z0-9])[A-Za-z0-9._%+\-]*@"
    r"([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"
)
_HAN: Final = "\u4e00-\u9fa5"
# Administrative part (kept) + road/street + number + 号 and the building/room after it (masked).
# The district level also accepts a city ("杭州市文三路1号"), so an address without a district
# still has its detail masked.
_ADDRESS: Final = re.compile(
    rf"((?:[{_HAN}]{{2,8}}?(?:省|自治区|特别行政区))?"
    rf"(?:[{_HAN}]{{2,8}}?(?:市|自治州|地区|盟))?"
    rf"[{_HAN}]{{1,8}}?(?:区|县|旗|市))"
    rf"\s*[{_HAN}A-Za-z0-9]{{1,20}}?(?:路|街|大道|道|巷|弄|胡同)\s*[0-9]+(?:[\-－—][0-9]+)?\s*号"
    rf"[{_HAN}A-Za-z0-9\-－#＃]{{0,20}}"
)


def _mobile(match: re.Match[str]) -> str:
    return f"{match.group(1)}****{match.group(2)}"


def _id_card(match: re.Match[str]) -> str:
    return f"{match.group(1)}{'*' * 11}{match.group(2)}"


def _email(match: re.Match[str]) -> str:
    return f"{match.group(1)}***@{match.group(2)}"


def _address(match: re.Match[str]) -> str:
    return f"{match.group(1)}****"


# Per kind, a cheap test that must pass before the full pattern runs: the full patterns start
# with look-behinds the regex engine cannot scan for quickly, and most texts hold none of them.
_HAS_17_DIGITS: Final = re.compile(r"[0-9]{17}")
_HAS_MOBILE_PREFIX: Final = re.compile(r"1[3-9][0-9]")


def _has_id(text: str) -> bool:
    return _HAS_17_DIGITS.search(text) is not None


def _has_mobile(text: str) -> bool:
    return _HAS_MOBILE_PREFIX.search(text) is not None


def _has_email(text: str) -> bool:
    return "@" in text


def _has_address(text: str) -> bool:
    return "号" in text


# ID numbers first: an ID holds digit runs the mobile pattern must not half-mask.
_MASKS: Final[
    tuple[tuple[str, Callable[[str], bool], re.Pattern[str], Callable[[re.Match[str]], str]], ...]
] = (
    ("id_card", _has_id, _ID_CARD, _id_card),
    ("mobile", _has_mobile, _MOBILE, _mobile),
    ("email", _has_email, _EMAIL, _email),
    ("address", _has_address, _ADDRESS, _address),
)


def mask_with_kinds(text: str) -> tuple[str, list[str]]:
    """``text`` with personal data masked, and which kinds were found (for the review log)."""
    if not text or not _HINT.search(text):
        return text, []
    kinds: list[str] = []
    for kind, worth_a_look, pattern, replace in _MASKS:
        if not worth_a_look(text):
            continue
        masked, count = pattern.subn(replace, text)
        if count:
            text = masked
            kinds.append(kind)
    return text, kinds


def mask_personal_data(text: str) -> str:
    """``text`` with mobile numbers, ID numbers, e-mails and street addresses masked."""
    return mask_with_kinds(text)[0]


def mask_value(value: Any) -> Any:
    """Mask every string inside ``value`` (dicts, lists and tuples walked); others unchanged."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return value
