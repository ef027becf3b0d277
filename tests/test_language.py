"""Per-message language decision."""

import pytest

from assistant.language import detect_language


@pytest.mark.parametrize(
    "text,expected",
    [
        ("油皮用哪款洗面奶?", "zh"),
        ("这个serum孕妇ok吗", "zh"),
        ("my order DD202511180042 where is it?", "en"),
        ("how much is the vitamin C serum", "en"),
    ],
)
def test_language_follows_the_script_the_shopper_wrote(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_messages_without_words_keep_the_conversation_language() -> None:
    assert detect_language("😂😂👍", default="en") == "en"
    assert detect_language("DD202511180042 3821", default="zh") == "zh"
