"""The local web group chat (the playground): a page with several shoppers in two groups, and
the JSON API it posts to.

The page sends every group message, addressed or not: ``mentioned`` says whether the shopper
@-mentioned the assistant (as a platform's mention metadata would), and the shared group layer
decides whether to answer — the same keyword rules and product-question policy as on any
platform. Clients that only send what is meant for the assistant can leave ``mentioned`` out.
"""

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
    """Body of ``POST /api/chat/send``: one shopper's message in a web group."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    chat_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field(min_length=1, max_length=128)
    user_name: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=20_000)
    # Did the shopper @-mention the assistant? Defaults to yes, for clients that only send
    # messages meant for it; the playground sends false for ordinary group chatter.
    mentioned: bool = Field(default=True, strict=True)


def reply_json(reply: OutgoingReply) -> dict[str, object]:
    """A reply as the page shows it: group replies @-mention the shopper."""
    shown = reply.text if reply.private else f"@{reply.to_user_name} {reply.text}"
    return {
        "text": shown,
        "to_user": reply.to_user,
        "to_user_name": reply.to_user_name,
        "private": reply.private,
    }


class WebConnector:
    """Serves the web group chat; every message goes through the shared group layer."""

    name = PLATFORM

    def __init__(self, chat: GroupChat) -> None:
        self.chat = chat

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.page),
            web.get("/api/chat/info", self.info),
            web.post("/api/chat/send", self.send),
        ]

    async def page(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "chat.html")

    async def info(self, _: web.Request) -> web.Response:
        """What the page needs to behave like the group layer: the assistant's names (a message
        naming one is a mention) and the web groups' rules (keywords, product questions)."""
        rules = self.chat.rules
        prefix = f"{PLATFORM}:"
        groups = {
            key[len(prefix) :]: {
                "product_questions": policy.product_questions,
                "keywords": [*rules.keywords, *policy.keywords],
            }
            for key, policy in rules.groups.items()
            if key.startswith(prefix)
        }
        return json_response(
            {
                "assistant_name": rules.assistant_names[0] if rules.assistant_names else "",
                "assistant_names": list(rules.assistant_names),
                "keywords": list(rules.keywords),
                "groups": groups,
            }
        )

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
            mentions_assistant=body.mentioned,
        )

    async def send(self, request: web.Request) -> web.Response:
        body = await read_json(request, ChatSend)
        replies = await self.chat.handle(self.parse(body))
        return json_response({"replies": [reply_json(r) for r in replies]})
