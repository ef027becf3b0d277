"""WeCom self-built app (企业微信自建应用): members chat with the app one to one.

WeCom posts each message as encrypted XML to ``/webhooks/wecom_app``; answers go back through
``/cgi-bin/message/send`` to that member. An app receives no group messages (app-created group
chats are send-only), so this is a private channel.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.messages import ImageMessage, TextMessage

from assistant.connectors.base import BadPayload, Connector, DeliveryFailed, Inbound
from assistant.connectors.wecom_common import (
    CallbackCrypto,
    WeComAPI,
    WeComSettings,
    acknowledge,
    split_text,
)
from assistant.messages import IncomingMessage, OutgoingReply

__all__ = ["WeComAppConnector", "WeComAppSettings"]

log = logging.getLogger("assistant.connectors")


class WeComAppSettings(WeComSettings):
    """``connectors.wecom_app`` in assistant.yml: the corp, the app's AgentId and secret, and
    the callback's Token / EncodingAESKey."""

    agent_id: int


class WeComAppConnector(Connector):
    """A WeCom self-built app: private chats between a member and the assistant."""

    name = "wecom_app"
    supports_private = True
    settings_model = WeComAppSettings

    def __init__(self, settings: WeComAppSettings) -> None:
        super().__init__(settings)
        self.settings: WeComAppSettings = settings
        self.callback = CallbackCrypto(settings)
        self.api = WeComAPI(settings)

    async def receive(self, request: web.Request) -> Inbound:
        callback = await self.callback.open(request)
        if callback.echo is not None:
            return Inbound(response=web.Response(text=callback.echo))
        message = self.parse(callback.xml)
        return Inbound(messages=[message] if message else [], response=acknowledge())

    def parse(self, xml: str) -> IncomingMessage | None:
        """A member's text or image message; ``None`` for events and other message types."""
        try:
            message = parse_message(xml)
            if not isinstance(message, (TextMessage, ImageMessage)):
                log.info(
                    "wecom_app callback ignored",
                    extra={"platform": self.name, "type": getattr(message, "type", "?")},
                )
                return None
            sender, agent = message.source, message.agent
            image = isinstance(message, ImageMessage)
            text = "" if image else message.content
            # An image's MediaId fetches it for three days (media/get); PicUrl is a preview.
            attachments = [{"kind": "image", "ref": message.media_id}] if image else []
            # MsgId is what WeCom repeats on a retry.
            message_id = str(message.id) if message.id else f"{sender}:{message.time}"
        except Exception as error:  # noqa: BLE001 - xmltodict, missing MsgType, non-numeric ids
            raise BadPayload("decrypted callback is not a WeCom message") from error
        if not sender or text is None or (attachments and not attachments[0]["ref"]):
            raise BadPayload("message without FromUserName, Content or MediaId")
        if agent and agent != self.settings.agent_id:
            # One callback URL per app: a message for another AgentId is a configuration slip.
            log.warning(
                "wecom_app message for another agent ignored",
                extra={"platform": self.name, "agent_id": agent},
            )
            return None
        return IncomingMessage(
            platform=self.name,
            chat_id=sender,
            chat_type="private",
            sender_id=sender,
            sender_name=sender,
            text=text,
            message_id=message_id,
            context={"agent_id": agent or self.settings.agent_id},
            attachments=attachments,
        )

    async def fetch_media(self, attachment: Mapping[str, Any]) -> bytes:
        """An image the member sent, by its MediaId."""
        return await self.api.media(str(attachment["ref"]))

    async def send(self, reply: OutgoingReply) -> None:
        """``message/send`` to the member (every chat of an app is one to one)."""
        for piece in split_text(reply.text):
            answer = await self.api.post(
                "/cgi-bin/message/send",
                {
                    "touser": reply.to_user,
                    "msgtype": "text",
                    "agentid": self.settings.agent_id,
                    "text": {"content": piece},
                    "safe": 0,
                },
            )
            if answer.get("invaliduser"):
                # Sent to nobody: the member left, or is outside the app's visible range.
                raise DeliveryFailed(
                    f"message/send: invalid user {answer['invaliduser']}", retryable=False
                )

    async def close(self) -> None:
        await self.api.close()
