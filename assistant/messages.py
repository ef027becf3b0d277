"""The two platform-neutral message types every connector and the group layer meet at."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

ChatType = Literal["group", "private"]


def person_of(conversation_id: str) -> str:
    """``platform:chat:user`` -> ``platform:user``: the same shopper in every group of one
    platform. Ids of another shape (a person id already, a bare id) are returned unchanged."""
    parts = conversation_id.split(":")
    return f"{parts[0]}:{parts[-1]}" if len(parts) >= 3 else conversation_id


def chat_of(conversation_id: str) -> str:
    """``platform:chat:user`` -> ``platform:chat`` (a chat id may itself hold colons); ids of
    another shape are returned unchanged."""
    parts = conversation_id.split(":")
    return ":".join(parts[:-1]) if len(parts) >= 3 else conversation_id


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
    # The message answers one of the assistant's own (a "reply" / quote): addressed like a mention.
    replies_to_assistant: bool = False
    received_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # What the connector needs later to answer this very message (LINE reply token, Feishu
    # message id for a threaded reply, DingTalk session webhook...). JSON-serialisable.
    context: dict[str, Any] = field(default_factory=dict)
    # Images the shopper sent: ``{"kind": "image", "ref": <the platform's media reference>}``
    # plus what that platform needs to fetch it (see ``Connector.fetch_media``). JSON-serialisable.
    attachments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def conversation_id(self) -> str:
        """One conversation per shopper per chat, so shoppers in a group never share context."""
        return f"{self.platform}:{self.chat_id}:{self.sender_id}"

    def to_json(self) -> dict[str, Any]:
        """A plain dict kept in the inbox, so a message received before a restart is answered."""
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncomingMessage:
        values = dict(data)
        values["received_at"] = datetime.fromisoformat(str(values["received_at"]))
        return cls(**values)


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
    chat_type: ChatType = "group"
    # The platform message this answers (threaded replies, quotes) and its reply context.
    in_reply_to: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    # Group replies @-mention the shopper; notices such as the flood warning do too.
    mention: bool = True
    # The group's "I've sent it to you privately" note, said only if the private reply arrived.
    pointer: bool = False

    @property
    def conversation_id(self) -> str:
        return f"{self.platform}:{self.chat_id}:{self.to_user}"
