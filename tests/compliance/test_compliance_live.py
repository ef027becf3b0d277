"""Through the real running system (Rasa + app): staff wording is fixed before shoppers see it,
the change is kept for review, and personal data is masked in the group only."""

from __future__ import annotations

import uuid
from pathlib import Path

from assistant.compliance.store import ComplianceLog
from assistant.groupchat.inbox import MessageInbox
from assistant.groupchat.pipeline import ChatRules, GroupChat
from assistant.messages import IncomingMessage
from assistant.rasa_client import RasaClient
from tests.stack import ROSE_GROUP, RunningSystem


def shopper() -> str:
    return "u-" + uuid.uuid4().hex[:8]


def test_banned_wording_in_knowledge_is_rewritten_and_logged(system: RunningSystem) -> None:
    # ROSE-004's staff description says 最好的 and 消炎 (tests/data/knowledge-rose).
    user = shopper()
    replies = system.chat(user, "@澜屿小助手 介绍一下花语舒缓精华", chat_id=ROSE_GROUP)
    said = "\n".join(r["text"] for r in replies)
    assert "花语舒缓精华" in said and "¥298" in said
    assert "很好的修护精华" in said and "能快速舒缓" in said
    assert "最好的" not in said and "消炎" not in said
    assert "第一时间" in said  # an exception: routine wording is kept

    english = system.chat(
        user + "-en", "@澜屿小助手 tell me about the Petal Calm Serum", chat_id=ROSE_GROUP
    )
    said_en = "\n".join(r["text"] for r in english)
    assert "Petal Calm Serum" in said_en
    assert "a great serum" in said_en and "soothing centella" in said_en
    assert "the best" not in said_en.lower() and "anti-inflammatory" not in said_en.lower()

    log = ComplianceLog(system.settings.commerce_url)
    try:
        (event,) = log.recent(5, conversation_id=f"web:{ROSE_GROUP}:{user}")
        assert event.action == "rewrite"
        assert event.rule_ids == ["zh-best-of", "zh-anti-inflammatory"]
        assert event.categories == ["absolute_term", "medical_claim"]
        assert "最好的修护精华" in event.before and "很好的修护精华" in event.after
        assert event.language == "zh"
    finally:
        log.close()


def test_demo_order_text_and_routine_answers_pass_unchanged(system: RunningSystem) -> None:
    """The order status (最新物流, tracking number) is sent privately, untouched."""
    order = system.orders["transit"]
    user = shopper()
    replies = system.chat(user, f"@澜屿小助手 查一下订单 {order.order_id} 手机尾号 {order.digits}")
    private = [r for r in replies if r["private"]]
    assert private, replies
    assert "最新物流" in private[0]["text"] and "SF1234567890123" in private[0]["text"]
    log = ComplianceLog(system.settings.commerce_url)
    try:
        assert log.recent(5, conversation_id=f"web:g-test:{user}") == []
    finally:
        log.close()


async def test_personal_data_is_masked_in_the_group_and_kept_in_private(
    system: RunningSystem, tmp_path: Path
) -> None:
    """No reply today echoes a shopper's own number; what can leak is staff text with contact
    details (ROSE-005's description). The real group layer, real Rasa and real actions: the
    group sees them masked, the shopper's private chat gets them whole."""
    rasa = RasaClient(system.rasa_url)
    chat = GroupChat(
        rasa,
        MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}"),
        ChatRules(assistant_names=("澜屿小助手",)),
    )

    def message(chat_type: str) -> IncomingMessage:
        return IncomingMessage(
            platform="web",
            chat_id=ROSE_GROUP,
            chat_type=chat_type,  # type: ignore[arg-type]
            sender_id=shopper(),
            sender_name="小雨",
            text="@澜屿小助手 介绍一下晨露柔肤身体乳",
            message_id=uuid.uuid4().hex,
            mentions_assistant=True,
        )

    try:
        group = "\n".join(r.text for r in await chat.handle(message("group")))
        private = "\n".join(r.text for r in await chat.handle(message("private")))
    finally:
        await rasa.close()
    assert "晨露柔肤身体乳" in group and "晨露柔肤身体乳" in private
    assert "139****5678" in group and "v***@rosaria-beauty.com" in group
    assert "13912345678" not in group and "vip.lin@" not in group
    assert "13912345678" in private and "vip.lin@rosaria-beauty.com" in private
