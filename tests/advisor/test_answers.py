"""Answers composed from the real knowledge base (real embedding model, real Chroma)."""

from __future__ import annotations

from tests import catalogue


def test_product_price_comes_from_the_record(services) -> None:
    serum = next(p for p in catalogue.products(category="serum") if "Vitamin C" in p.name_en)
    answer = services.advisor.answer("how much is the vitamin C serum", "en")
    assert answer.known and answer.product_ids == [serum.id]
    assert f"¥{serum.price:g}" in answer.text


def test_pregnancy_answer_uses_the_products_caution(services) -> None:
    unsafe = catalogue.products(category="serum", contraindications="pregnancy")[0]
    answer = services.advisor.answer(f"{unsafe.name_zh}孕妇能用吗", "zh")
    assert "不建议" in answer.text and unsafe.caution_zh[:10] in answer.text


def test_category_pregnancy_question_separates_safe_and_unsafe(services) -> None:
    answer = services.advisor.answer("孕妇可以用哪些精华", "zh")
    safe_part = answer.text.split("不建议")[0]
    named = catalogue.product_names_in(safe_part)
    assert named and all("pregnancy" not in p.contraindications for p in named)


def test_deictic_question_uses_the_product_in_context(services) -> None:
    unsafe = catalogue.products(category="serum", contraindications="pregnancy")[0]
    answer = services.advisor.answer("这款孕妇能用吗", "zh", context_product_id=unsafe.id)
    assert unsafe.name_zh in answer.text and "不建议" in answer.text


def test_faq_answer_when_no_product_is_meant(services) -> None:
    answer = services.advisor.answer("开封后能放多久", "zh")
    assert answer.known and answer.source_ids and answer.source_ids[0].startswith("FAQ")


def test_unrelated_question_is_not_answered_with_a_guess(services) -> None:
    answer = services.advisor.answer("火星上的天气怎么样", "zh")
    assert not answer.known and "人工" in answer.text
    answer = services.advisor.answer("who won the football world cup", "en")
    assert not answer.known
