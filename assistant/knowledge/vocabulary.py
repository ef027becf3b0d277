"""Canonical knowledge values (docs/contracts.md) and the words shoppers use for them."""

from __future__ import annotations

from typing import NamedTuple


class Words(NamedTuple):
    """How shoppers say one canonical value, in Chinese and in English."""

    zh: tuple[str, ...]
    en: tuple[str, ...]


# Each canonical value maps to the words a shopper types. They go into the indexed passage so a
# query in either language meets the record in both the dense and the BM25 index, even when the
# record itself only stores the slug ("oily").
SKIN_TYPES: dict[str, Words] = {
    "oily": Words(("油皮", "油性皮肤", "油性肌肤"), ("oily skin",)),
    "dry": Words(("干皮", "干性皮肤", "干性肌肤"), ("dry skin",)),
    "combination": Words(("混合皮", "混合性皮肤", "混油", "混干"), ("combination skin",)),
    "normal": Words(("中性皮", "中性皮肤"), ("normal skin",)),
    "sensitive": Words(("敏感肌", "敏感皮肤"), ("sensitive skin",)),
}

CONCERNS: dict[str, Words] = {
    "acne": Words(("痘痘", "闭口", "粉刺", "长痘"), ("acne", "breakouts", "pimples")),
    "oiliness": Words(("出油", "控油"), ("oiliness", "oil control", "shine")),
    "dryness": Words(("干燥", "缺水", "保湿", "补水"), ("dryness", "dehydration", "hydration")),
    "dullness": Words(("暗沉", "提亮", "美白", "肤色不均"), ("dullness", "brightening", "glow")),
    "pigmentation": Words(("色斑", "痘印", "淡斑"), ("pigmentation", "dark spots", "acne marks")),
    "aging": Words(
        ("细纹", "抗老", "紧致", "抗衰"), ("aging", "anti-aging", "fine lines", "firming")
    ),
    "redness": Words(("泛红", "红血丝"), ("redness",)),
    "pores": Words(("毛孔粗大", "毛孔"), ("large pores", "pores")),
    "blackheads": Words(("黑头",), ("blackheads",)),
    "sun_protection": Words(("防晒", "防晒黑", "防紫外线"), ("sun protection", "UV protection")),
    "dark_circles": Words(("黑眼圈",), ("dark circles",)),
    "barrier": Words(("屏障受损", "修护", "屏障修护"), ("damaged skin barrier", "barrier repair")),
}

CONTRAINDICATIONS: dict[str, Words] = {
    "pregnancy": Words(("孕期", "孕妇"), ("pregnancy", "pregnant")),
    "breastfeeding": Words(("哺乳期",), ("breastfeeding",)),
    "sensitive": Words(("敏感肌慎用",), ("caution for sensitive skin",)),
    "acne_prone": Words(("易长痘慎用",), ("caution for acne-prone skin",)),
}

PRODUCT_CATEGORIES: dict[str, Words] = {
    "cleanser": Words(("洁面", "洗面奶", "洁面乳"), ("cleanser", "face wash")),
    "toner": Words(("爽肤水", "化妆水"), ("toner",)),
    "serum": Words(("精华", "精华液"), ("serum", "essence")),
    "moisturizer": Words(("面霜", "乳液", "保湿霜"), ("moisturizer", "cream", "lotion")),
    "sunscreen": Words(("防晒霜", "防晒"), ("sunscreen", "SPF", "sunblock")),
    "mask": Words(("面膜",), ("mask", "face mask")),
    "remover": Words(("卸妆", "卸妆油", "卸妆水"), ("makeup remover", "cleansing oil")),
    "eye": Words(("眼霜", "眼部护理"), ("eye cream", "eye care")),
    "body": Words(("身体乳", "身体护理"), ("body lotion", "body care")),
}

ROUTINE_STEPS: dict[str, Words] = {
    "cleanse": Words(("清洁",), ("cleansing step",)),
    "treat": Words(("精华护理", "功效护理"), ("treatment step",)),
    "moisturize": Words(("保湿",), ("moisturizing step",)),
    "protect": Words(("防护",), ("protection step",)),
}

TIMES_OF_DAY: dict[str, Words] = {
    "am": Words(("早上", "白天", "日间"), ("morning", "daytime", "AM")),
    "pm": Words(("晚上", "夜间"), ("evening", "night", "PM")),
}

# Ingredient nicknames shoppers use ("维C", "A醇") that a record's INCI name or formal zh name
# does not contain; matched by substring against a key active's zh/en names.
ACTIVE_ALIASES: dict[str, Words] = {
    "维生素c": Words(("维C", "VC", "维生素C"), ("vitamin C",)),
    "维c": Words(("维C", "VC", "维生素C"), ("vitamin C",)),
    "vitamin c": Words(("维C", "VC", "维生素C"), ("vitamin C",)),
    "ascorb": Words(("维C", "VC", "维生素C"), ("vitamin C",)),
    "烟酰胺": Words(("烟酰胺", "维生素B3"), ("niacinamide", "vitamin B3")),
    "niacinamide": Words(("烟酰胺", "维生素B3"), ("niacinamide", "vitamin B3")),
    "视黄醇": Words(("A醇", "视黄醇"), ("retinol", "vitamin A")),
    "retin": Words(("A醇", "视黄醇"), ("retinol", "vitamin A")),
    "玻尿酸": Words(("玻尿酸", "透明质酸"), ("hyaluronic acid",)),
    "透明质酸": Words(("玻尿酸", "透明质酸"), ("hyaluronic acid",)),
    "hyaluron": Words(("玻尿酸", "透明质酸"), ("hyaluronic acid",)),
    "水杨酸": Words(("水杨酸", "BHA"), ("salicylic acid", "BHA")),
    "salicylic": Words(("水杨酸", "BHA"), ("salicylic acid", "BHA")),
    "神经酰胺": Words(("神经酰胺",), ("ceramide",)),
    "ceramide": Words(("神经酰胺",), ("ceramide",)),
    "积雪草": Words(("积雪草", "CICA"), ("centella", "cica")),
    "centella": Words(("积雪草", "CICA"), ("centella", "cica")),
    "果酸": Words(("果酸", "AHA"), ("AHA", "glycolic acid")),
    "glycolic": Words(("果酸", "AHA"), ("AHA", "glycolic acid")),
    "胜肽": Words(("胜肽", "多肽"), ("peptides",)),
    "peptide": Words(("胜肽", "多肽"), ("peptides",)),
    "氧化锌": Words(("物理防晒", "氧化锌"), ("mineral sunscreen", "zinc oxide")),
    "zinc oxide": Words(("物理防晒", "氧化锌"), ("mineral sunscreen", "zinc oxide")),
}


def domain_terms() -> set[str]:
    """Every Chinese term above, for teaching the BM25 tokenizer words jieba does not know."""
    tables = (SKIN_TYPES, CONCERNS, CONTRAINDICATIONS, PRODUCT_CATEGORIES, ROUTINE_STEPS)
    terms = {w for table in tables for words in table.values() for w in words.zh}
    terms |= {w for words in TIMES_OF_DAY.values() for w in words.zh}
    terms |= {w for words in ACTIVE_ALIASES.values() for w in words.zh}
    return {t for t in terms if len(t) > 1}
