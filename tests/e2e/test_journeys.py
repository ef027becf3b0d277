"""Every shopper journey end to end through /api/chat/send → group layer → Rasa → actions → KB."""

from __future__ import annotations

import re
import uuid

import pytest

from tests import catalogue
from tests.stack import RunningSystem

HAN = re.compile(r"[\u4e00-\u9fff]")


def shopper() -> str:
    return "u-" + uuid.uuid4().hex[:8]


def texts(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies)


def group_texts(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies if not r["private"])


def private_texts(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies if r["private"])


def chinese_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if HAN.match(c)) / max(1, len(letters))


# -- greeting and language ---------------------------------------------------------------


def test_greeting_is_answered_in_the_shoppers_language(system: RunningSystem) -> None:
    user = shopper()
    zh = system.chat(user, "@澜屿小助手 你好呀", user_name="小林")
    assert zh and zh[0]["text"].startswith("@小林 ")
    assert chinese_share(texts(zh)) > 0.5
    en = system.chat(user, "@澜屿小助手 hi there", user_name="小林")
    assert chinese_share(texts(en)) < 0.1, texts(en)


# -- product questions -----------------------------------------------------------------


def test_price_question_answers_with_the_catalogue_price_zh(system: RunningSystem) -> None:
    serum = next(p for p in catalogue.products(category="serum") if "维C" in p.name_zh)
    reply = texts(system.chat(shopper(), f"@澜屿小助手 {serum.name_zh}多少钱"))
    assert f"¥{serum.price:g}" in reply and serum.name_zh in reply


def test_price_question_answers_with_the_catalogue_price_en(system: RunningSystem) -> None:
    serum = next(p for p in catalogue.products(category="serum") if "Vitamin C" in p.name_en)
    reply = texts(system.chat(shopper(), "@assistant how much is the vitamin C serum?"))
    assert f"¥{serum.price:g}" in reply and serum.name_en in reply


@pytest.mark.parametrize("language", ["zh", "en"])
def test_pregnancy_question_follows_the_products_contraindications(
    system: RunningSystem, language: str
) -> None:
    unsafe = catalogue.products(category="serum", contraindications="pregnancy")[0]
    safe = next(
        p for p in catalogue.products(category="serum") if "pregnancy" not in p.contraindications
    )
    if language == "zh":
        bad = texts(system.chat(shopper(), f"@澜屿小助手 {unsafe.name_zh}孕妇能用吗"))
        good = texts(system.chat(shopper(), f"@澜屿小助手 {safe.name_zh}孕妇可以用吗"))
        assert "不建议" in bad and unsafe.name_zh in bad
        assert "可以使用" in good and "不建议" not in good
    else:
        bad = texts(
            system.chat(shopper(), f"@assistant is the {unsafe.name_en} safe during pregnancy?")
        )
        good = texts(
            system.chat(shopper(), f"@assistant can I use the {safe.name_en} while pregnant?")
        )
        assert "not recommended" in bad and unsafe.name_en in bad
        assert "can be used" in good and "not recommended" not in good


def test_this_product_refers_to_the_one_just_discussed(system: RunningSystem) -> None:
    user = shopper()
    unsafe = catalogue.products(category="serum", contraindications="pregnancy")[0]
    system.chat(user, f"@澜屿小助手 {unsafe.name_zh}多少钱")
    reply = texts(system.chat(user, "@澜屿小助手 这款孕妇能用吗"))
    assert unsafe.name_zh in reply and "不建议" in reply


@pytest.mark.parametrize(
    "question,language",
    [
        ("@澜屿小助手 有没有适合油皮的防晒", "zh"),
        ("@assistant any sunscreen for oily skin?", "en"),
    ],
)
def test_category_question_lists_matching_products(
    system: RunningSystem, question: str, language: str
) -> None:
    reply = texts(system.chat(shopper(), question))
    named = catalogue.product_names_in(reply)
    assert named, reply
    assert all(p.category == "sunscreen" and "oily" in p.skin_types for p in named), reply


def test_unknown_fact_is_not_invented_and_a_person_is_offered(system: RunningSystem) -> None:
    reply = texts(system.chat(shopper(), "@澜屿小助手 你们的产品能治疗新冠吗"))
    assert "人工" in reply


# -- skin consultation ----------------------------------------------------------------


def _consult(system: RunningSystem, user: str, turns: list[str]) -> list[str]:
    return [texts(system.chat(user, f"@澜屿小助手 {turn}")) for turn in turns]


def test_consultation_asks_what_is_missing_then_recommends_zh(system: RunningSystem) -> None:
    answers = _consult(
        system, shopper(), ["帮我推荐一下护肤品", "油皮", "痘痘比较多", "不敏感", "没有怀孕"]
    )
    assert "肤质" in answers[0]
    assert "问题" in answers[1] or "改善" in answers[1]
    assert "敏感" in answers[2]
    assert "孕" in answers[3]
    routine = answers[4].split("已避开")[0]
    assert "早上" in routine and "晚上" in routine, answers[4]
    recommended = catalogue.product_names_in(routine)
    assert 2 <= len(recommended) <= 7, answers[4]  # one product per step, some used twice
    unsuited = [
        p.id for p in recommended if "oily" not in p.skin_types and "acne" not in p.concerns
    ]
    assert not unsuited, answers[4]


def test_consultation_never_recommends_against_pregnancy_en(system: RunningSystem) -> None:
    answers = [
        texts(system.chat(shopper_id, f"@assistant {turn}"))
        for shopper_id in [shopper()]
        for turn in [
            "I have dry skin with fine lines, what should I use?",
            "no",
            "yes, I'm pregnant",
        ]
    ]
    final = answers[-1]
    recommended = catalogue.product_names_in(final.split("Left out")[0])
    assert recommended, final
    assert all("pregnancy" not in p.contraindications for p in recommended), final


# -- orders ----------------------------------------------------------------------------


def test_order_with_everything_in_one_message_is_answered_privately(system: RunningSystem) -> None:
    order = system.orders["transit"]
    replies = system.chat(
        shopper(), f"@澜屿小助手 订单{order.order_id} 手机尾号{order.digits} 到哪了"
    )
    private = private_texts(replies)
    assert order.order_id in private and "武汉" in private
    assert order.order_id not in group_texts(replies)
    assert "私信" in group_texts(replies)


def test_order_tracking_step_by_step_en(system: RunningSystem) -> None:
    order = system.orders["recent"]
    user = shopper()
    first = texts(system.chat(user, "@assistant where is my parcel?"))
    assert "order number" in first
    second = texts(system.chat(user, f"@assistant {order.order_id}"))
    assert "last 4 digits" in second
    third = system.chat(user, f"@assistant {order.digits}")
    assert "delivered" in private_texts(third) and order.order_id in private_texts(third)


def test_wrong_pair_reveals_nothing_and_three_failures_offer_a_person(
    system: RunningSystem,
) -> None:
    order = system.orders["guarded"]
    user = shopper()
    replies = [texts(system.chat(user, f"@澜屿小助手 查一下订单 {order.order_id} 尾号0000"))]
    replies.append(texts(system.chat(user, f"@澜屿小助手 {order.order_id} 尾号1111")))
    replies.append(texts(system.chat(user, f"@澜屿小助手 {order.order_id} 尾号2222")))
    for reply in replies:
        assert "已签收" not in reply and "顺丰" not in reply and "成都" not in reply
    assert "对上" in replies[0]
    assert "人工" in replies[2]
    accepted = texts(system.chat(user, "@澜屿小助手 好的"))
    assert "工单" in accepted
    assert any(h.conversation_id.endswith(user) for h in system.commerce().open_handoffs())


# -- returns ---------------------------------------------------------------------------


def test_return_policy_comes_from_the_knowledge_base(system: RunningSystem) -> None:
    policy = catalogue.record("POL-RETURNS")
    reply = texts(system.chat(shopper(), "@澜屿小助手 怎么退货啊"))
    assert policy.body_zh.strip()[:30] in reply


def test_return_eligibility_for_a_verified_order_en(system: RunningSystem) -> None:
    order = system.orders["recent"]
    user = shopper()
    replies = system.chat(
        user, f"@assistant I want to return order {order.order_id}, phone ends with {order.digits}"
    )
    assert "can be returned" in private_texts(replies), texts(replies)


def test_expired_return_window_is_explained_zh(system: RunningSystem) -> None:
    order = system.orders["old"]
    user = shopper() + "x"
    replies = system.chat(user, f"@澜屿小助手 订单{order.order_id}想退货 尾号{order.digits}")
    assert "超过" in private_texts(replies), texts(replies)


# -- promotions, people, fallback ---------------------------------------------------------


@pytest.mark.parametrize(
    "question,language",
    [("@澜屿小助手 最近有什么优惠活动吗", "zh"), ("@assistant any discounts right now?", "en")],
)
def test_promotions_list_running_offers_only(
    system: RunningSystem, question: str, language: str
) -> None:
    reply = texts(system.chat(shopper(), question))
    promotions = [r for r in catalogue.records() if r.kind == "promotion"]
    import datetime as dt

    today = dt.date.today()
    for promotion in promotions:
        title = getattr(promotion, f"title_{language}")
        assert (title in reply) == (promotion.starts <= today <= promotion.ends), title


@pytest.mark.parametrize(
    "question", ["@澜屿小助手 转人工", "@assistant can I talk to a real person"]
)
def test_human_request_is_recorded(system: RunningSystem, question: str) -> None:
    user = shopper()
    reply = texts(system.chat(user, question))
    assert "#" in reply
    assert any(h.conversation_id.endswith(user) for h in system.commerce().open_handoffs())


@pytest.mark.parametrize(
    "question", ["@澜屿小助手 今天股市怎么样", "@assistant what's the weather in Paris"]
)
def test_out_of_scope_gets_a_polite_fallback(system: RunningSystem, question: str) -> None:
    reply = texts(system.chat(shopper(), question))
    assert "人工" in reply or "person" in reply or "team" in reply


# -- two shoppers at once --------------------------------------------------------------


def test_two_shoppers_in_one_group_keep_their_own_context(system: RunningSystem) -> None:
    from concurrent.futures import ThreadPoolExecutor

    order = system.orders["recent"]
    amy, lin = shopper(), shopper()
    turns = [
        (("帮我推荐护肤品", "小林"), ("where is my order?", "Amy")),
        (("干皮", "小林"), (order.order_id, "Amy")),
        (("细纹", "小林"), (order.digits, "Amy")),
    ]
    answers: list[tuple[str, list[dict]]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for (lin_text, lin_name), (amy_text, amy_name) in turns:
            lin_future = pool.submit(
                system.chat, lin, f"@澜屿小助手 {lin_text}", user_name=lin_name, chat_id="g-shared"
            )
            amy_future = pool.submit(
                system.chat, amy, f"@assistant {amy_text}", user_name=amy_name, chat_id="g-shared"
            )
            answers.append((texts(lin_future.result()), amy_future.result()))
    (lin1, amy1), (lin2, amy2), (lin3, amy3) = answers
    assert "肤质" in lin1 and "order number" in texts(amy1)
    assert "问题" in lin2 and "last 4 digits" in texts(amy2)
    assert "敏感" in lin3 and order.order_id in private_texts(amy3)
    assert all(r["to_user"] == amy for r in amy1 + amy2 + amy3)
    assert order.order_id not in lin1 + lin2 + lin3
