"""Through the chat: each brand's groups see only their knowledge, and edits go live in seconds."""

from __future__ import annotations

import time
import uuid

import yaml

from tests import catalogue
from tests.stack import ROSE_GROUP, RunningSystem


def shopper() -> str:
    return "u-" + uuid.uuid4().hex[:8]


def ask(system: RunningSystem, text: str, chat_id: str) -> str:
    replies = system.chat(shopper(), f"@澜屿小助手 {text}", chat_id=chat_id)
    return "\n".join(r["text"] for r in replies)


def test_a_group_sees_only_its_own_brand(system: RunningSystem) -> None:
    rose = ask(system, "蔷薇之境精油面霜多少钱", ROSE_GROUP)
    assert "¥368" in rose and "蔷薇之境精油面霜" in rose

    # The demo brand's group never hears about the other brand's cream ...
    demo = ask(system, "蔷薇之境精油面霜多少钱", "g-test")
    assert "蔷薇之境" not in demo and "368" not in demo
    # ... and the rose group never gets the demo brand's products.
    serum = next(p for p in catalogue.products(category="serum") if "维C" in p.name_zh)
    other = ask(system, f"{serum.name_zh}多少钱", ROSE_GROUP)
    assert serum.name_zh not in other and f"¥{serum.price:g}" not in other


def test_a_saved_file_is_answered_within_two_seconds(system: RunningSystem) -> None:
    products = system.settings.data_dir / "knowledge-rose" / "products.yaml"
    assert "¥158" in ask(system, "玫瑰纯露爽肤水多少钱", ROSE_GROUP)

    # Staff cut the toner's price and add a hand cream, and save the file.
    data = yaml.safe_load(products.read_text(encoding="utf-8"))
    data["records"][1]["price"] = 128
    data["records"].append(
        {
            "id": "ROSE-003",
            "name_zh": "蔷薇之境护手霜",
            "name_en": "Rosaria Hand Cream",
            "category": "body",
            "price": 79,
            "skin_types": ["all"],
            "description_zh": "玫瑰精油护手霜，滋润不黏腻。",
        }
    )
    started = time.monotonic()
    products.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    while "¥128" not in ask(system, "玫瑰纯露爽肤水多少钱", ROSE_GROUP):
        assert time.monotonic() - started < 2.0, "the new price was not answered within 2 s"
        time.sleep(0.1)
    assert "¥79" in ask(system, "蔷薇之境护手霜多少钱", ROSE_GROUP)
    # Only the rose brand's groups learned about the hand cream.
    assert "¥79" not in ask(system, "蔷薇之境护手霜多少钱", "g-test")


def test_questions_the_knowledge_cannot_answer_reach_staff(system: RunningSystem) -> None:
    from assistant.feedback.unanswered import UnansweredLog

    question = "你们公司的logo是谁设计的？"
    ask(system, question, ROSE_GROUP)
    ask(system, "who designed your company logo?", "g-test")
    log = UnansweredLog(system.settings.commerce_url)
    try:
        rose = {q.text: q for q in log.list("rose")}
        assert question in rose and rose[question].lang == "zh"
        assert rose[question].conversation_id.startswith(f"web:{ROSE_GROUP}:")
        demo = {q.text for q in log.list("default")}
        assert "who designed your company logo?" in demo and question not in demo
    finally:
        log.close()
