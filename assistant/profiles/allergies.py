"""Ingredients a shopper says they react to ("我对酒精过敏", "allergic to nuts"), zh and en.

Only a statement about an allergy counts: "有不含酒精的吗" asks about a product and says nothing
about the shopper, so an allergen word needs an allergy word in the same message.
"""

from __future__ import annotations

import re

from assistant.language import Language
from assistant.vocabulary import Term

ALLERGENS: tuple[Term, ...] = (
    Term(
        "fragrance", "香精", "fragrance", ("香精", "香料", "香味", "fragrance", "perfume", "parfum")
    ),
    Term("alcohol", "酒精", "alcohol", ("酒精", "乙醇", "alcohol")),
    Term("nuts", "坚果", "nuts", ("坚果", "花生", "杏仁", "核桃", "nut", "peanut", "almond")),
    Term("essential_oils", "精油", "essential oils", ("精油", "essential oil")),
    Term("lanolin", "羊毛脂", "lanolin", ("羊毛脂", "lanolin")),
)
ALLERGEN_BY_VALUE = {term.value: term for term in ALLERGENS}

_ALLERGY = re.compile(r"过敏|不耐受|起疹|allerg|intoleran|react(s|ion)? (to|badly)", re.I)
_DENIED = re.compile(r"(不|没有?|无)过敏|not allergic|no allerg", re.I)


def find_allergies(text: str) -> list[str]:
    """Allergens a message says the shopper reacts to, in the order they are written."""
    if not _ALLERGY.search(text) or _DENIED.search(text):
        return []
    lowered = text.lower()
    found = []
    for term in ALLERGENS:
        positions = [lowered.find(p) for p in term.phrases if p in lowered]
        if positions:
            found.append((min(positions), term.value))
    return [value for _, value in sorted(found)]


def allergy_names(values: list[str] | tuple[str, ...], language: Language) -> list[str]:
    """Shopper-facing names of allergen values (unknown values as they are)."""
    return [
        (ALLERGEN_BY_VALUE[v].zh if language == "zh" else ALLERGEN_BY_VALUE[v].en)
        if v in ALLERGEN_BY_VALUE
        else v
        for v in values
    ]
