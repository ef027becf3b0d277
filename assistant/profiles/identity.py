"""Who a conversation belongs to: the same person across the groups of one platform.

A conversation is ``platform:chat_id:user_id`` (one per shopper per chat); a person is
``platform:user_id``. Platforms give user ids per platform (a WeCom id means nothing on LINE), so
a person never spans platforms.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from assistant.messages import person_of as shared_person_of


class NotAPerson(ValueError):
    """The id is neither a conversation id nor a person id."""


def person_of(conversation_id: str) -> str:
    """``"wecom:group-1:u42"`` -> ``"wecom:u42"``; a person id is returned unchanged."""
    platform, _, rest = conversation_id.partition(":")
    if not platform or not rest:
        raise NotAPerson(f"not a conversation or person id: {conversation_id!r}")
    return shared_person_of(conversation_id)


def split_person(person_id: str) -> tuple[str, str]:
    """``"wecom:u42"`` -> ``("wecom", "u42")``."""
    platform, _, user = person_id.partition(":")
    if not platform or not user or ":" in user:
        raise NotAPerson(f"not a person id (platform:user_id): {person_id!r}")
    return platform, user


def conversations_of(column: ColumnElement[str], person_id: str) -> ColumnElement[bool]:
    """A WHERE clause narrowing ``column`` (conversation ids) to ``person_id``'s.

    "starts with ``platform:``, ends with ``:user``" is exactly :func:`person_of` as SQL, since
    neither part holds a colon. Ids such as Feishu's ``ou_…`` hold LIKE wildcards: escaped.
    """
    platform, user = split_person(person_id)
    return column.startswith(f"{platform}:", autoescape=True) & column.endswith(
        f":{user}", autoescape=True
    )
