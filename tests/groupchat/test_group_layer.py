"""Group rules shared by every platform: addressing, dedup, one context per shopper, privacy."""

from __future__ import annotations

from pathlib import Path

from assistant.groupchat.addressing import is_addressed, strip_mentions
from assistant.groupchat.inbox import MessageInbox
from assistant.messages import IncomingMessage


def message(
    text: str = "hi",
    *,
    chat_type: str = "group",
    mentioned: bool = False,
    sender: str = "u1",
    message_id: str = "m1",
) -> IncomingMessage:
    return IncomingMessage(
        platform="web",
        chat_id="g1",
        chat_type=chat_type,  # type: ignore[arg-type]
        sender_id=sender,
        sender_name="Lin",
        text=text,
        message_id=message_id,
        mentions_assistant=mentioned,
    )


def test_group_chatter_is_not_for_the_assistant() -> None:
    assert not is_addressed(message("大家晚上好"), keywords=[])
    assert is_addressed(message("@澜屿小助手 在吗", mentioned=True), keywords=[])
    assert is_addressed(message("在吗", chat_type="private"), keywords=[])
    assert is_addressed(message("小助手 防晒怎么选"), keywords=["小助手"])


def test_mentions_are_removed_before_understanding() -> None:
    assert strip_mentions("@澜屿小助手  油皮用哪款洗面奶?", ["澜屿小助手"]) == "油皮用哪款洗面奶?"
    assert (
        strip_mentions("hi @assistant where is my order", ["assistant"]) == "hi where is my order"
    )
    assert strip_mentions("email me at amy@example.com", []) == "email me at amy@example.com"


def test_each_shopper_in_a_group_has_their_own_conversation() -> None:
    assert message(sender="u1").conversation_id != message(sender="u2").conversation_id
    assert message(sender="u1").conversation_id == "web:g1:u1"


def test_a_platform_retry_is_recorded_once(tmp_path: Path) -> None:
    inbox = MessageInbox(f"sqlite:///{tmp_path / 'inbox.db'}")
    assert inbox.record(message(message_id="abc"))
    assert not inbox.record(message(message_id="abc"))
    assert [row["message_id"] for row in inbox.unanswered()] == ["abc"]
    inbox.mark_answered(message(message_id="abc"), ["hello"])
    assert inbox.unanswered() == []
