"""Skincare words shoppers use, mapped to the catalogue's canonical values, in zh and en."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.language import Language


@dataclass(frozen=True)
class Term:
    """One canonical value with its display names and the phrases that mean it."""

    value: str
    zh: str
    en: str
    phrases: tuple[str, ...]


def _terms(*rows: tuple[str, str, str, str]) -> tuple[Term, ...]:
    return tuple(
        Term(value, zh, en, tuple(p.strip().lower() for p in phrases.split("|") if p.strip()))
        for value, zh, en, phrases in rows
    )


# Longer phrases are matched first, so "混合偏油" wins over "油".
SKIN_TYPES = _terms(
    (
        "combination",
        "混合皮",
        "combination skin",
        "混合|混油|混干|混合皮|混合肌|混合性|t区油|t区出油|"
        "combination|combo|oily t-zone|oily t zone",
    ),
    (
        "oily",
        "油皮",
        "oily skin",
        "油皮|油性|大油皮|油痘皮|油性皮肤|容易出油|爱出油|大油田|oily|greasy",
    ),
    ("dry", "干皮", "dry skin", "干皮|干性|干性皮肤|大干皮|干燥肌|起皮|dry skin|dry"),
    ("sensitive", "敏感肌", "sensitive skin", "敏感肌|敏感皮|敏感性|敏皮|容易过敏|易敏|sensitive"),
    ("normal", "中性皮", "normal skin", "中性|中性皮|正常肤质|normal skin|normal"),
)

CONCERNS = _terms(
    (
        "acne",
        "痘痘",
        "breakouts",
        "痘痘|长痘|爆痘|闭口|粉刺|痘|痤疮|acne|breakout|pimple|spots|zit",
    ),
    ("oiliness", "出油", "oiliness", "出油|控油|油光|泛油|oiliness|shine|shiny|oil control"),
    (
        "dryness",
        "干燥缺水",
        "dryness",
        "干燥|缺水|补水|保湿|紧绷|起皮|dryness|dehydrat|hydrat|moistur|flaky|tight",
    ),
    (
        "dullness",
        "暗沉",
        "dullness",
        "暗沉|暗黄|提亮|美白|发黄|没光泽|肤色不均|dull|brighten|glow|radiance|uneven tone",
    ),
    (
        "pigmentation",
        "色斑痘印",
        "dark spots",
        "色斑|斑点|雀斑|痘印|晒斑|色沉|pigment|dark spot|dark mark|acne mark|freckle|melasma",
    ),
    (
        "aging",
        "细纹抗老",
        "fine lines and firmness",
        "细纹|皱纹|抗老|抗衰|紧致|松弛|法令纹|初老|aging|ageing|anti-age|wrinkle|fine line|firm",
    ),
    ("redness", "泛红", "redness", "泛红|红血丝|发红|红脸|redness|red patches|flush"),
    ("pores", "毛孔粗大", "visible pores", "毛孔|毛孔粗大|pore"),
    ("blackheads", "黑头", "blackheads", "黑头|草莓鼻|blackhead"),
    (
        "sun_protection",
        "防晒",
        "sun protection",
        "防晒|晒黑|晒伤|紫外线|spf|sunscreen|sun protection|uv",
    ),
    ("dark_circles", "黑眼圈", "dark circles", "黑眼圈|眼袋|熊猫眼|dark circle|eye bag|puffy eye"),
    ("barrier", "屏障修护", "barrier repair", "屏障|修护|烂脸|刺痛|barrier|repair|damaged skin"),
)

CONTRAINDICATIONS = _terms(
    ("pregnancy", "孕期", "pregnancy", "孕妇|孕期|怀孕|备孕|准妈妈|pregnan|expecting"),
    ("breastfeeding", "哺乳期", "breastfeeding", "哺乳|喂奶|母乳|breastfeed|breast-feed|nursing"),
    ("sensitive", "敏感肌", "sensitive skin", "敏感|过敏|sensitive"),
    ("acne_prone", "易长痘肌肤", "acne-prone skin", "痘肌|易长痘|闭口|acne-prone|acne prone"),
)

CATEGORIES = _terms(
    (
        "cleanser",
        "洁面",
        "cleanser",
        "洁面|洗面奶|洗面乃|洁面乳|洁面啫喱|洁面泡沫|cleanser|face wash|facial wash",
    ),
    ("toner", "爽肤水", "toner", "爽肤水|化妆水|精华水|柔肤水|toner|essence water"),
    ("serum", "精华", "serum", "精华|精华液|原液|安瓶|serum|ampoule|essence"),
    (
        "moisturizer",
        "面霜/乳液",
        "moisturiser",
        "面霜|乳液|保湿霜|晚霜|日霜|凝霜|moisturizer|moisturiser|cream|lotion|gel cream",
    ),
    ("sunscreen", "防晒", "sunscreen", "防晒|防晒霜|防晒乳|隔离|sunscreen|sunblock|spf"),
    ("mask", "面膜", "mask", "面膜|泥膜|睡眠面膜|mask|sheet mask"),
    (
        "remover",
        "卸妆",
        "makeup remover",
        "卸妆|卸妆油|卸妆水|卸妆膏|remover|cleansing oil|micellar",
    ),
    ("eye", "眼霜", "eye cream", "眼霜|眼部|眼精华|eye cream|eye serum|eye"),
    ("body", "身体护理", "body care", "身体乳|沐浴|身体|手霜|body|hand cream|shower"),
)

SKIN_TYPE_BY_VALUE = {t.value: t for t in SKIN_TYPES}
CONCERN_BY_VALUE = {t.value: t for t in CONCERNS}
CONTRAINDICATION_BY_VALUE = {t.value: t for t in CONTRAINDICATIONS}
CATEGORY_BY_VALUE = {t.value: t for t in CATEGORIES}

_NEGATION = re.compile(r"(不|没|无|非|not|no|isn't|aren't|n't)\s*$")


def _find(terms: Iterable[Term], text: str) -> list[str]:
    """Return canonical values whose phrases occur in ``text``, in the order they appear.

    A phrase preceded by a negation ("不敏感", "not sensitive") does not count.
    """
    lowered = text.lower()
    ranked = sorted(((p, t.value) for t in terms for p in t.phrases), key=lambda x: -len(x[0]))
    found: list[tuple[int, str]] = []
    consumed = [False] * len(lowered)
    for phrase, value in ranked:
        for match in re.finditer(re.escape(phrase), lowered):
            start, end = match.span()
            if any(consumed[start:end]):
                continue
            for i in range(start, end):
                consumed[i] = True
            if _NEGATION.search(lowered[max(0, start - 6) : start]):
                continue
            found.append((start, value))
    # Report in the order the shopper wrote them, each value once.
    return list(dict.fromkeys(value for _, value in sorted(found)))


def find_skin_types(text: str) -> list[str]:
    """Skin types mentioned in a shopper's message, e.g. "混合偏油" → ["combination"]."""
    return _find(SKIN_TYPES, text)


def find_concerns(text: str) -> list[str]:
    """Skin concerns mentioned in a message, e.g. "痘痘和毛孔" → ["acne", "pores"]."""
    return _find(CONCERNS, text)


def find_contraindications(text: str) -> list[str]:
    """Conditions a message asks about, e.g. "孕妇能用吗" → ["pregnancy"]."""
    return _find(CONTRAINDICATIONS, text)


def find_categories(text: str) -> list[str]:
    """Product categories a message names, e.g. "油皮用哪款洗面奶" → ["cleanser"]."""
    return _find(CATEGORIES, text)


def display(value: str, language: Language, table: dict[str, Term]) -> str:
    """Shopper-facing name of a canonical value in the given language."""
    term = table.get(value)
    if term is None:
        return value
    return term.zh if language == "zh" else term.en
