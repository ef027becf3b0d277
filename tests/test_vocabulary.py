"""Shopper phrases map to the catalogue's canonical values."""

from assistant.vocabulary import (
    find_categories,
    find_concerns,
    find_contraindications,
    find_skin_types,
)


def test_chinese_skin_descriptions() -> None:
    assert find_skin_types("混合偏油 T区出油") == ["combination"]
    assert find_skin_types("大油皮一枚") == ["oily"]
    assert find_concerns("痘痘和毛孔粗大") == ["acne", "pores"]


def test_english_skin_descriptions() -> None:
    assert find_skin_types("my skin is dry and flaky") == ["dry"]
    assert "dullness" in find_concerns("I want brighter skin, it looks dull")


def test_negation_is_not_a_mention() -> None:
    assert find_contraindications("不敏感") == []
    assert find_contraindications("not pregnant") == []
    assert find_contraindications("这款精华孕妇能用吗") == ["pregnancy"]


def test_water_words_are_not_toners() -> None:
    assert "toner" not in find_categories("补水面膜推荐")
    assert find_categories("油皮用哪款洗面奶") == ["cleanser"]
