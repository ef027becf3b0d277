"""LINE Messaging API: signed webhooks in; replies by reply token (free), else by push.

Verification and parsing use line-bot-sdk v3's ``WebhookParser``; sending uses its
``AsyncMessagingApi`` (typed ``textV2`` mention messages, and the ``X-Line-Retry-Key`` header
that makes a retried push idempotent). The channel access token is a long-lived one from the
LINE console: there is no refresh flow.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    MentionSubstitutionObject,
    Message,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
    TextMessageV2,
    UserMentionTarget,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.models.events import UnknownEvent
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import (
    Event,
    EventMode,
    GroupSource,
    ImageMessageContent,
    MessageEvent,
    RoomSource,
    TextMessageContent,
    UserMentionee,
    UserSource,
)
from pydantic import Field
from pydantic.v1 import ValidationError as SDKValidationError

from assistant.connectors.base import (
    BadPayload,
    BadSignature,
    Connector,
    ConnectorSettings,
    DeliveryFailed,
    Inbound,
)
from assistant.connectors.http import PlatformHTTP, retry_after_seconds
from assistant.messages import ChatType, IncomingMessage, OutgoingReply

__all__ = ["LineConnector", "LineSettings"]

log = logging.getLogger("assistant.connectors")

PLATFORM = "line"
SIGNATURE_HEADER = "X-Line-Signature"
# LINE limits: characters per text message, messages per reply/push request.
MAX_TEXT = 5000
MAX_MESSAGES = 5
# textV2 placeholder the shopper's mention is substituted into.
MENTION_KEY = "user"
MENTION_PREFIX = "{" + MENTION_KEY + "} "
# Group messages from LINE clients that do not share a userId (e.g. LINE for PC) get a
# per-message sender id: no shared context between unknown shoppers, and no private replies.
ANONYMOUS = "anonymous:"
# Retry keys are stable per (answered message, recipient, text), so a retry after a timeout or
# a restart is recognised by LINE (409) instead of delivered twice.
_RETRY_KEYS = uuid.UUID("6a4f0a52-6a0e-4c5e-9a53-2c1b8d8e0f11")


class LineSettings(ConnectorSettings):
    """``connectors.line`` in assistant.yml."""

    api_base: str = "https://api.line.me"
    # Basic settings > Channel secret: signs every webhook (X-Line-Signature).
    channel_secret: str = Field(min_length=1)
    # Messaging API > Channel access token (long-lived).
    channel_access_token: str = Field(min_length=1)
    # LINE honours a reply token for about a minute after the webhook; older ones go by push.
    reply_token_seconds: float = Field(default=50.0, ge=0)
    # Where the content of images shoppers send is downloaded (a host of its own at LINE).
    data_api_base: str = "https://api-data.line.me"


class _Recent:
    """A bounded set of recently seen keys (used reply tokens, ids of our sent messages)."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._keys


class _ReplyTokenRejected(Exception):
    """LINE said ``Invalid reply token`` (used, expired, or from a redelivery): push instead."""


class LineConnector(Connector):
    """A LINE Official Account's bot in groups, multi-person chats and 1:1 chats."""

    name = PLATFORM
    supports_private = True
    settings_model = LineSettings

    def __init__(self, settings: LineSettings) -> None:  # type: ignore[override]
        super().__init__(settings)
        self.settings: LineSettings = settings
        self._parser = WebhookParser(settings.channel_secret)
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None
        self._used_tokens = _Recent()
        # Our own messages, so a shopper quoting one of them addresses the assistant.
        self._sent_ids = _Recent()
        self._media: PlatformHTTP | None = None

    # ------------------------------------------------------------------ receiving
    async def receive(self, request: web.Request) -> Inbound:
        """Verify ``X-Line-Signature`` and parse text message events; others are ignored."""
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            raise BadSignature(f"{SIGNATURE_HEADER} header missing")
        raw = await request.read()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadPayload("webhook body is not UTF-8") from error
        try:
            payload = self._parser.parse(body, signature, as_payload=True)
            raw_events = json.loads(body)["events"]
        except InvalidSignatureError as error:
            raise BadSignature(f"{SIGNATURE_HEADER} does not match the channel secret") from error
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BadPayload(f"malformed webhook body ({type(error).__name__})") from error
        if not payload.events:
            # The console's "Verify" button posts a signed body with no events.
            log.info("line webhook verified", extra={"platform": PLATFORM})
        messages = []
        for event, raw_event in zip(payload.events, raw_events, strict=True):
            message = self._parse_event(event, raw_event)
            if message is not None:
                messages.append(message)
        return Inbound(messages=messages)

    def _parse_event(self, event: Event, raw_event: Any) -> IncomingMessage | None:
        if isinstance(event, UnknownEvent):
            # The SDK turns an event it cannot validate into UnknownEvent; for a text message
            # that means a broken body, not a new event type.
            raw = raw_event if isinstance(raw_event, dict) else {}
            content = raw.get("message")
            if (
                raw.get("type") == "message"
                and isinstance(content, dict)
                and content.get("type") == "text"
            ):
                raise BadPayload("text message event is missing required fields")
        if not isinstance(event, MessageEvent) or not isinstance(
            event.message, (TextMessageContent, ImageMessageContent)
        ):
            self._ignored(event, "not a text or image message")
            return None
        if event.mode == EventMode.STANDBY:
            # Another channel owns the chat (module mode): it answers, we must not.
            self._ignored(event, "standby mode")
            return None
        source = event.source
        chat_type: ChatType
        if isinstance(source, GroupSource):
            chat_id, chat_type = source.group_id, "group"
        elif isinstance(source, RoomSource):
            chat_id, chat_type = source.room_id, "group"
        elif isinstance(source, UserSource) and source.user_id:
            chat_id, chat_type = source.user_id, "private"
        else:
            self._ignored(event, "unknown source")
            return None
        content = event.message
        sender_id = source.user_id or f"{ANONYMOUS}{content.id}"
        image = isinstance(content, ImageMessageContent)
        mention = None if image else content.mention
        mentionees = mention.mentionees if mention else []
        quoted = None if image else content.quoted_message_id
        redelivery = bool(event.delivery_context.is_redelivery)
        if redelivery:
            log.info(
                "line redelivery received",
                extra={"platform": PLATFORM, "webhook_event_id": event.webhook_event_id},
            )
        return IncomingMessage(
            platform=PLATFORM,
            chat_id=chat_id,
            chat_type=chat_type,
            sender_id=sender_id,
            # Webhooks carry no display name (a profile lookup would delay the acknowledgement);
            # group replies mention by userId, which LINE renders as the shopper's name.
            sender_name="",
            text="" if image else content.text,
            # The message id, not webhookEventId: the same for every delivery of a message.
            message_id=content.id,
            mentions_assistant=any(
                isinstance(m, UserMentionee) and bool(m.is_self) for m in mentionees
            ),
            replies_to_assistant=bool(quoted) and quoted in self._sent_ids,
            context={
                "reply_token": event.reply_token or "",
                "reply_token_at": time.time(),
                "webhook_event_id": event.webhook_event_id,
                "redelivery": redelivery,
            },
            # The message id is the media reference: its content is downloaded by id.
            attachments=[{"kind": "image", "ref": content.id}] if image else [],
        )

    @staticmethod
    def _ignored(event: Event, reason: str) -> None:
        log.info(
            "line event ignored",
            extra={
                "platform": PLATFORM,
                "event_type": getattr(event, "type", "?"),
                "reason": reason,
                "webhook_event_id": getattr(event, "webhook_event_id", ""),
            },
        )

    async def fetch_media(self, attachment: Mapping[str, Any]) -> bytes:
        """An image's content from the Messaging API's data host (by message id)."""
        if self._media is None:
            self._media = PlatformHTTP(
                self.settings.data_api_base, timeout_seconds=self.settings.timeout_seconds
            )
        data, _ = await self._media.download(
            f"/v2/bot/message/{attachment['ref']}/content",
            headers={"Authorization": f"Bearer {self.settings.channel_access_token}"},
        )
        return data

    # ------------------------------------------------------------------ sending
    async def send(self, reply: OutgoingReply) -> None:
        """Reply with the message's reply token while it is fresh and unused; else push."""
        if not reply.text.strip():
            return
        to_shopper = reply.private or reply.chat_type == "private"
        anonymous = reply.to_user.startswith(ANONYMOUS)
        if to_shopper and anonymous:
            raise DeliveryFailed(
                "LINE sent no userId for this shopper: cannot message them privately",
                retryable=False,
            )
        mention = reply.mention and reply.chat_type == "group" and not to_shopper and not anonymous
        messages = _messages(reply.text, reply.to_user if mention else None)
        token = self._usable_token(reply)
        if token:
            try:
                await self._reply(token, messages)
                return
            except _ReplyTokenRejected:
                log.info(
                    "line reply token rejected, pushing instead",
                    extra={"platform": PLATFORM, "conversation_id": reply.conversation_id},
                )
        await self._push(reply.to_user if to_shopper else reply.chat_id, messages, reply)

    def _usable_token(self, reply: OutgoingReply) -> str:
        """The reply token answers into the chat it came from, once, within about a minute."""
        token = str(reply.context.get("reply_token") or "")
        if not token or token in self._used_tokens:
            return ""
        if reply.private and reply.chat_type == "group":
            return ""  # the token would answer in the group
        age = time.time() - float(reply.context.get("reply_token_at") or 0)
        return token if age <= self.settings.reply_token_seconds else ""

    async def _reply(self, token: str, messages: list[Message]) -> None:
        api = self._messaging()
        try:
            response = await api.reply_message_with_http_info(
                ReplyMessageRequest(reply_token=token, messages=messages),
                _request_timeout=self.settings.timeout_seconds,
            )
        except ApiException as error:
            if error.status == 400 and "invalid reply token" in _detail(error).lower():
                self._used_tokens.add(token)
                raise _ReplyTokenRejected from error
            raise _failure("reply", error) from error
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise DeliveryFailed(f"LINE reply: {type(error).__name__}", retryable=True) from error
        except SDKValidationError as error:
            response = _unreadable("reply", error)
        self._used_tokens.add(token)
        self._remember(response)

    async def _push(self, to: str, messages: list[Message], reply: OutgoingReply) -> None:
        api = self._messaging()
        retry_key = (
            str(uuid.uuid5(_RETRY_KEYS, f"{reply.in_reply_to}\n{to}\n{reply.text}"))
            if reply.in_reply_to
            else None
        )
        try:
            response = await api.push_message_with_http_info(
                PushMessageRequest(to=to, messages=messages),
                x_line_retry_key=retry_key,
                _request_timeout=self.settings.timeout_seconds,
            )
        except ApiException as error:
            if error.status == 409 and retry_key:
                # An earlier attempt with this retry key went through (its answer was lost).
                log.info(
                    "line push already accepted",
                    extra={"platform": PLATFORM, "conversation_id": reply.conversation_id},
                )
                return
            raise _failure("push", error) from error
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise DeliveryFailed(f"LINE push: {type(error).__name__}", retryable=True) from error
        except SDKValidationError as error:
            response = _unreadable("push", error)
        self._remember(response)

    def _remember(self, response: Any) -> None:
        data = getattr(response, "data", None)
        for sent in getattr(data, "sent_messages", None) or []:
            if getattr(sent, "id", None):
                self._sent_ids.add(str(sent.id))

    def _messaging(self) -> AsyncMessagingApi:
        """The SDK client, created inside the running loop (it opens an aiohttp session)."""
        if self._api is None:
            configuration = Configuration(
                host=self.settings.api_base.rstrip("/"),
                access_token=self.settings.channel_access_token,
            )
            self._client = AsyncApiClient(configuration)
            self._api = AsyncMessagingApi(self._client)
        return self._api

    async def close(self) -> None:
        if self._media is not None:
            await self._media.close()
        if self._client is not None:
            await self._client.close()
        self._client = None
        self._api = None


def _escape(text: str) -> str:
    """textV2 reads ``{key}`` as a placeholder; literal braces are doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def _split(text: str, first_budget: int) -> list[str]:
    """Pieces of at most MAX_TEXT characters (the first within ``first_budget`` once escaped),
    at most MAX_MESSAGES of them: LINE's limits for one request."""
    pieces: list[str] = []
    rest = text
    while rest:
        budget = first_budget if not pieces else MAX_TEXT
        size = min(len(rest), budget)
        if not pieces and first_budget < MAX_TEXT:
            # Doubling the braces must still fit.
            size -= rest[:size].count("{") + rest[:size].count("}")
            size = max(size, 1)
        pieces.append(rest[:size])
        rest = rest[size:]
    if len(pieces) > MAX_MESSAGES:
        pieces = pieces[:MAX_MESSAGES]
        pieces[-1] = pieces[-1][:-1] + "…"
    return pieces


def _messages(text: str, mention_user: str | None) -> list[Message]:
    """One text message per piece; with ``mention_user`` the first one @-mentions them."""
    if not mention_user:
        return [TextMessage(text=piece) for piece in _split(text, MAX_TEXT)]
    first, *rest = _split(text, MAX_TEXT - len(MENTION_PREFIX))
    mention = MentionSubstitutionObject(mentionee=UserMentionTarget(user_id=mention_user))
    messages: list[Message] = [
        TextMessageV2(text=MENTION_PREFIX + _escape(first), substitution={MENTION_KEY: mention})
    ]
    return messages + [TextMessage(text=piece) for piece in rest]


def _unreadable(action: str, error: SDKValidationError) -> None:
    """LINE answered 2xx with a body the SDK's models reject (the request models are built and
    validated here, so the error is about the answer). The message went out: sending it again
    would duplicate it, so this counts as delivered."""
    log.warning(
        "line accepted the message but its answer did not parse",
        extra={"platform": PLATFORM, "action": action, "error": str(error)[:300]},
    )


def _detail(error: ApiException) -> str:
    body = error.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return str(body or error.reason or "")[:300]


def _failure(action: str, error: ApiException) -> DeliveryFailed:
    """An API error as a DeliveryFailed: 429 and 5xx retry, except the monthly quota."""
    status = int(error.status or 0)
    detail = _detail(error)
    reason = f"LINE {action}: HTTP {status} {detail}"
    if status == 429 and "monthly limit" in detail.lower():
        return DeliveryFailed(f"{reason} (monthly message quota used up)", retryable=False)
    if status == 429 or status >= 500:
        headers = error.headers or {}
        return DeliveryFailed(
            reason, retryable=True, retry_after=retry_after_seconds(headers.get("Retry-After"))
        )
    if status == 401:
        reason += " (channel access token rejected: issue a new one in the LINE console)"
    return DeliveryFailed(reason, retryable=False)
