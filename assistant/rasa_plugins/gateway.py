"""Rasa input channel the assistant app talks to: REST plus the message's platform metadata."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)


class GatewayOutput(CollectingOutputChannel):
    """Collects one reply per bot message, keeping its text and custom payload together.

    Rasa's default collector splits a response with text and ``custom`` into two messages,
    which would separate a reply from its "send privately" flag.
    """

    @classmethod
    def name(cls) -> str:
        return "gateway"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        reply = {"recipient_id": recipient_id}
        for key in ("text", "custom", "image", "buttons", "attachment", "quick_replies"):
            if message.get(key):
                reply[key] = message[key]
        await self._persist_message(reply)


class GatewayInput(InputChannel):
    """``POST /webhooks/gateway/webhook`` with ``{"sender", "message", "metadata"}``.

    The app has already verified the platform request and applied the group rules; the
    metadata (platform, chat, display name, message id, mention) rides along so actions can
    read it from ``tracker.latest_message["metadata"]``.
    """

    @classmethod
    def name(cls) -> str:
        return "gateway"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("gateway_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json(
                    {"error": "expected JSON with string fields 'sender' and 'message'"},
                    status=400,
                )
            metadata = self._metadata(body)
            collector = GatewayOutput()
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender,
                    input_channel=str(metadata.get("platform") or self.name()),
                    metadata=metadata,
                    message_id=metadata.get("message_id"),
                )
            )
            return response.json(collector.messages)

        return webhook

    @staticmethod
    def _metadata(body: dict[str, Any]) -> dict[str, Any]:
        metadata: Any | None = body.get("metadata")
        # A malformed metadata value must not break the conversation; it is just dropped.
        return metadata if isinstance(metadata, dict) else {}
