"""The two platform-neutral message types every connector and the group layer meet at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

ChatType = Literal["group", "private"]


@dataclass(frozen=True)
class IncomingMessage:
    """A shopper's message as a connector parsed it, before any group rule."""

    platform: str
    chat_id: str
    chat_type: ChatType
    sender_id: str
    sender_name: str
    text: str
    message_id: str
    mentions_assistant: bool = False
    received_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def conversation_id(self) -> str:
        """One conversation per shopper per chat, so shoppers in a group never share context."""
        return f"{self.platform}:{self.chat_id}:{self.sender_id}"


@dataclass(frozen=True)
class OutgoingReply:
    """What the assistant says back; ``private`` replies go to the shopper only."""

    platform: str
    chat_id: str
    to_user: str
    to_user_name: str
    text: str
    private: bool = False
    custom: dict[str, Any] = field(default_factory=dict)
