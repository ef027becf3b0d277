"""The local web group chat: a page with several shoppers, and the JSON API it posts to."""

from __future__ import annotations

import uuid
from pathlib import Path

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from assistant.groupchat.pipeline import GroupChat
from assistant.http_errors import json_response, read_json
from assistant.messages import IncomingMessage, OutgoingReply

PLATFORM = "web"
STATIC_DIR = Path(__file__).resolve().parent.parent / "web"


class ChatSend(BaseModel):
    """Body of ``POST /api/chat/send``: a message addressed to the assistant."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    chat_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field(min_length=1, max_length=128)
    user_name: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=20_000)


def reply_json(reply: OutgoingReply) -> dict[str, object]:
    """A reply as the page shows it: group replies @-mention the shopper."""
    shown = reply.text if reply.private else f"@{reply.to_user_name} {reply.text}"
    return {"text": shown, "to_user": reply.to_user, "private": reply.private}


class WebConnector:
    """Serves the web group chat; every message goes through the shared group layer."""

    name = PLATFORM

    def __init__(self, chat: GroupChat) -> None:
        self.chat = chat

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.page),
            web.post("/api/chat/send", self.send),
        ]

    async def page(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "chat.html")

    @staticmethod
    def parse(body: ChatSend) -> IncomingMessage:
        return IncomingMessage(
            platform=PLATFORM,
            chat_id=body.chat_id,
            chat_type="group",
            sender_id=body.user_id,
            sender_name=body.user_name,
            text=body.text,
            message_id=uuid.uuid4().hex,
            mentions_assistant=True,  # the API only carries messages addressed to us
        )

    async def send(self, request: web.Request) -> web.Response:
        body = await read_json(request, ChatSend)
        replies = await self.chat.handle(self.parse(body))
        return json_response({"replies": [reply_json(r) for r in replies]})
