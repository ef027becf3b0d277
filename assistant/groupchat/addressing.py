"""Is a group message meant for the assistant, and what does it say without the @-mention."""

from __future__ import annotations

import re

from assistant.messages import IncomingMessage

_MENTION = re.compile(r"(?<!\S)@\S+")


def is_addressed(message: IncomingMessage, keywords: list[str]) -> bool:
    """Private chats always are; in a group, an @-mention or a configured keyword is needed."""
    if message.chat_type == "private" or message.mentions_assistant:
        return True
    lowered = message.text.lower()
    return any(keyword.lower() in lowered for keyword in keywords if keyword)


def strip_mentions(text: str, assistant_names: list[str]) -> str:
    """Remove @-mentions of the assistant (and any other @handle) from the text Rasa sees."""
    for name in assistant_names:
        text = text.replace(f"@{name}", " ")
    return " ".join(_MENTION.sub(" ", text).split())
