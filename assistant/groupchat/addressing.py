"""Is a group message meant for the assistant, and what does it say without the @-mention."""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.messages import IncomingMessage
from assistant.vocabulary import find_categories, find_concerns, find_skin_types

_MENTION = re.compile(r"(?<!\S)@\S+")
# A question, or asking for a recommendation, in either language.
_QUESTION = re.compile(
    r"[??]|吗|呢|哪|什么|怎么|如何|推荐|求|适合|能不能|可以用|有没有|"
    r"\b(which|what|how|recommend|suggest|any|should|can|is there|good for)\b",
    re.IGNORECASE,
)


def is_addressed(
    message: IncomingMessage, keywords: Iterable[str], *, product_questions: bool = False
) -> bool:
    """Private chats always are; in a group an @-mention, a reply to the assistant or a
    configured keyword is needed — or, where the group allows it, a product question."""
    if message.chat_type == "private" or message.mentions_assistant or message.replies_to_assistant:
        return True
    lowered = message.text.lower()
    if any(keyword.lower() in lowered for keyword in keywords if keyword):
        return True
    return product_questions and looks_like_product_question(message.text)


def looks_like_product_question(text: str) -> bool:
    """A question that names a product category, skin type or concern ("油皮用哪款洗面奶?")."""
    if not _QUESTION.search(text):
        return False
    return bool(find_categories(text) or find_skin_types(text) or find_concerns(text))


def strip_mentions(text: str, assistant_names: Iterable[str]) -> str:
    """Remove @-mentions of the assistant (and any other @handle) from the text Rasa sees."""
    for name in assistant_names:
        text = text.replace(f"@{name}", " ")
    return " ".join(_MENTION.sub(" ", text).split())
