"""Feishu / Lark: event subscription webhooks or the SDK's long connection, replies by the IM API.

Decryption (``AESCipher``), the event models and the long-connection client come from the
official SDK, ``lark-oapi``. The webhook checks are ours because the SDK's dispatcher has no
replay window and answers every failure with a 500 (which makes Feishu retry a forged request).
Both receiving modes parse through :meth:`FeishuConnector._to_message`.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Future
from contextlib import suppress
from datetime import datetime, timezone
from typing import Any, Literal

import aiohttp
from aiohttp import web
from lark_oapi.api.im.v1.model.p2_im_message_receive_v1 import P2ImMessageReceiveV1
from lark_oapi.core.utils import AESCipher
from pydantic import model_validator

from assistant.connectors.base import (
    Accept,
    BadPayload,
    BadSignature,
    Connector,
    ConnectorSettings,
    DeliveryFailed,
    Inbound,
    check_fresh,
)
from assistant.connectors.http import AccessToken, PlatformHTTP, retry_after_seconds
from assistant.messages import IncomingMessage, OutgoingReply

__all__ = ["FeishuConnector", "FeishuSettings"]

log = logging.getLogger("assistant.connectors")

MESSAGE_EVENT = "im.message.receive_v1"
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
BOT_INFO_PATH = "/open-apis/bot/v3/info"
MESSAGES_PATH = "/open-apis/im/v1/messages"
# Codes that say the tenant_access_token is invalid or expired: fetch a new one, retry once.
TOKEN_CODES = frozenset({99991661, 99991663, 99991668})
# Frequency limits (the API's, a custom bot's, the IM API's): wait and try again.
RATE_LIMIT_CODES = frozenset({99991400, 11232, 230020})
# Kept so a reply to one of the assistant's own messages is recognised without an API call.
_SENT_MEMORY = 5000


class FeishuSettings(ConnectorSettings):
    """``connectors.feishu`` in ``assistant.yml``."""

    api_base: str = "https://open.feishu.cn"  # Lark (international): https://open.larksuite.com
    app_id: str
    app_secret: str
    # Event subscription security (开发者后台 → 事件与回调 → 加密策略).
    verification_token: str = ""
    encrypt_key: str = ""
    # The bot's open_id; fetched from /open-apis/bot/v3/info when left empty.
    bot_open_id: str = ""
    # "webhook": Feishu posts to /webhooks/feishu; "long_connection": no public URL needed.
    mode: Literal["webhook", "long_connection"] = "webhook"
    # Group answers as a thread under the shopper's message instead of a quoted reply.
    reply_in_thread: bool = False
    # Requests whose X-Lark-Request-Timestamp is further off than this are replays.
    timestamp_window_seconds: float = 300.0

    @model_validator(mode="after")
    def _webhook_is_authenticated(self) -> FeishuSettings:
        if self.mode == "webhook" and not (self.verification_token or self.encrypt_key):
            raise ValueError(
                "webhook mode needs verification_token or encrypt_key (else anyone can post "
                "events); use mode: long_connection to go without a public URL"
            )
        return self


class _TokenRejected(Exception):
    """The API said our tenant_access_token is invalid or expired."""


class FeishuConnector(Connector):
    """Feishu / Lark custom app (自建应用) with the bot capability."""

    name = "feishu"
    supports_private = True
    settings_model = FeishuSettings

    def __init__(self, settings: ConnectorSettings) -> None:
        if not isinstance(settings, FeishuSettings):
            raise TypeError("FeishuConnector needs FeishuSettings")
        super().__init__(settings)
        self.settings: FeishuSettings = settings
        self.http = PlatformHTTP(
            self.settings.api_base, timeout_seconds=self.settings.timeout_seconds
        )
        self.token = AccessToken(self._fetch_token)
        self._bot_open_id = self.settings.bot_open_id
        self._bot_lookup_after = 0.0
        self._sent: OrderedDict[str, None] = OrderedDict()
        self._parents: OrderedDict[str, bool] = OrderedDict()
        self._ws_loop: asyncio.AbstractEventLoop | None = None
        self._ws_stop = threading.Event()

    @property
    def long_connection(self) -> bool:
        return self.settings.mode == "long_connection"

    # ------------------------------------------------------------------ webhook
    async def receive(self, request: web.Request) -> Inbound:
        raw = await request.read()
        payload = _json_object(raw, "body")
        signed = False
        if self.settings.encrypt_key:
            if not isinstance(payload.get("encrypt"), str):
                raise BadPayload("body is not encrypted although an Encrypt Key is set")
            signed = self._check_signature(request.headers, raw)
            payload = _json_object(self._decrypt(payload["encrypt"]), "decrypted body")
        elif "encrypt" in payload:
            raise BadPayload("encrypted body but no encrypt_key is configured")
        else:
            self._check_timestamp(request.headers)
        is_challenge = payload.get("type") == "url_verification"
        if self.settings.encrypt_key and not signed and not is_challenge:
            raise BadSignature("X-Lark-Signature missing")
        header = payload.get("header") if isinstance(payload.get("header"), dict) else {}
        self._check_token(header.get("token") if header else payload.get("token"))
        if is_challenge:
            log.info("feishu url verification answered", extra={"platform": self.name})
            return Inbound(response=web.json_response({"challenge": payload.get("challenge")}))
        if payload.get("schema") != "2.0":
            log.info("feishu v1 event ignored", extra={"platform": self.name})
            return Inbound()
        if header.get("app_id") and header["app_id"] != self.settings.app_id:
            raise BadSignature(f"event for another app {header['app_id']}")
        event_type = header.get("event_type")
        if event_type != MESSAGE_EVENT:
            log.info(
                "feishu event ignored",
                extra={"platform": self.name, "event_type": event_type},
            )
            return Inbound()
        message = await self._to_message(P2ImMessageReceiveV1(payload))
        return Inbound(messages=[message] if message else [])

    def _check_signature(self, headers: Mapping[str, str], raw: bytes) -> bool:
        """Verify X-Lark-Signature = sha256(timestamp + nonce + encrypt_key + body); False when
        the request carries no signature (only allowed for the URL verification)."""
        timestamp = headers.get("X-Lark-Request-Timestamp", "")
        nonce = headers.get("X-Lark-Request-Nonce", "")
        signature = headers.get("X-Lark-Signature", "")
        if not signature:
            return False
        base = (timestamp + nonce + self.settings.encrypt_key).encode() + raw
        expected = hashlib.sha256(base).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise BadSignature("X-Lark-Signature does not match")
        self._check_timestamp(headers)
        return True

    def _check_timestamp(self, headers: Mapping[str, str]) -> None:
        value = headers.get("X-Lark-Request-Timestamp")
        if value is None:
            return
        try:
            sent = float(value)
        except ValueError as error:
            raise BadSignature(f"bad X-Lark-Request-Timestamp {value[:32]!r}") from error
        check_fresh(sent, self.settings.timestamp_window_seconds)

    def _decrypt(self, encrypted: str) -> bytes:
        try:
            return AESCipher(self.settings.encrypt_key).decrypt_str(encrypted).encode()
        except (ValueError, binascii.Error, UnicodeDecodeError) as error:
            raise BadPayload(f"body does not decrypt: {error}") from error

    def _check_token(self, token: Any) -> None:
        expected = self.settings.verification_token
        if not expected:
            return
        if not isinstance(token, str) or not hmac.compare_digest(token, expected):
            raise BadSignature("verification token does not match")

    # ------------------------------------------------------------------ parsing
    async def _to_message(self, event: P2ImMessageReceiveV1) -> IncomingMessage | None:
        """One ``im.message.receive_v1`` event (webhook or long connection) as a message."""
        data = event.event
        message = data.message if data else None
        sender = data.sender if data else None
        if message is None or sender is None or not message.message_id or not message.chat_id:
            raise BadPayload("im.message.receive_v1 without message, sender or ids")
        if sender.sender_type and sender.sender_type != "user":
            return None  # other bots and apps: never answer them (no bot loops)
        open_id = sender.sender_id.open_id if sender.sender_id else None
        if not open_id:
            raise BadPayload("message without sender open_id")
        chat_type: Literal["group", "private"] = (
            "private" if message.chat_type == "p2p" else "group"
        )
        mentions = message.mentions or []
        bot_open_id = await self.bot_open_id() if mentions else self._bot_open_id
        mentioned = any(self._is_bot(m, bot_open_id) for m in mentions)
        text = _message_text(message.message_type or "", message.content or "")
        # Longest key first, so "@_user_1" does not eat the start of "@_user_10".
        for mention in sorted(mentions, key=lambda m: len(m.key or ""), reverse=True):
            if mention.key:
                text = text.replace(mention.key, f"@{mention.name or ''}")
        replies_to_us = False
        if chat_type == "group" and not mentioned and message.parent_id:
            replies_to_us = await self._is_own_message(message.parent_id)
        return IncomingMessage(
            platform=self.name,
            chat_id=message.chat_id,
            chat_type=chat_type,
            sender_id=open_id,
            sender_name="",  # Feishu events carry no sender name (the contact API would)
            text=text.strip(),
            message_id=message.message_id,
            mentions_assistant=mentioned,
            replies_to_assistant=replies_to_us,
            received_at=_created_at(message.create_time),
            context={"thread_id": message.thread_id or "", "root_id": message.root_id or ""},
            attachments=_image_attachments(
                message.message_type or "", message.content or "", message.message_id
            ),
        )

    def _is_bot(self, mention: Any, bot_open_id: str) -> bool:
        mentioned_id = mention.id.open_id if mention.id else None
        if bot_open_id:
            return bool(mentioned_id) and mentioned_id == bot_open_id
        # The bot's open_id could not be learnt: fall back to its configured name.
        return bool(self.settings.bot_name) and mention.name == self.settings.bot_name

    async def bot_open_id(self) -> str:
        """The configured ``bot_open_id``, else the one /open-apis/bot/v3/info reports."""
        if self._bot_open_id or time.monotonic() < self._bot_lookup_after:
            return self._bot_open_id
        try:
            answer = await self._api("GET", BOT_INFO_PATH)
            self._bot_open_id = str((answer.get("bot") or {}).get("open_id") or "")
            log.info("feishu bot open_id learnt", extra={"bot_open_id": self._bot_open_id})
        except DeliveryFailed as failure:
            self._bot_lookup_after = time.monotonic() + 60.0  # do not slow every event down
            log.warning(
                "feishu bot info unavailable; matching mentions by bot_name",
                extra={"platform": self.name, "error": failure.reason},
            )
        return self._bot_open_id

    async def _is_own_message(self, message_id: str) -> bool:
        """Is ``message_id`` one the assistant sent (a shopper replying to the assistant)?"""
        if message_id in self._sent:
            return True
        if message_id in self._parents:
            return self._parents[message_id]
        try:
            answer = await self._api("GET", f"{MESSAGES_PATH}/{message_id}")
            items = (answer.get("data") or {}).get("items") or [{}]
            sender = items[0].get("sender") or {}
            own = sender.get("sender_type") == "app" and sender.get("id") == self.settings.app_id
        except DeliveryFailed as failure:
            log.warning(
                "feishu parent message lookup failed",
                extra={"platform": self.name, "error": failure.reason},
            )
            return False
        _remember(self._parents, message_id, own)
        return own

    # ------------------------------------------------------------------ sending
    async def send(self, reply: OutgoingReply) -> None:
        text = reply.text
        if reply.mention and not reply.private and reply.chat_type == "group" and reply.to_user:
            text = f'<at user_id="{reply.to_user}"></at> {text}'
        body: dict[str, Any] = {
            "msg_type": "text",
            "content": json.dumps({"text": text}, ensure_ascii=False),
            # Feishu drops a second message with the same uuid within an hour: a retry after a
            # lost answer cannot post the reply twice.
            "uuid": _send_uuid(reply),
        }
        params: dict[str, str] | None = None
        if reply.private:
            path, params = MESSAGES_PATH, {"receive_id_type": "open_id"}
            body["receive_id"] = reply.to_user
        elif reply.chat_type == "group" and reply.in_reply_to:
            path = f"{MESSAGES_PATH}/{reply.in_reply_to}/reply"
            body["reply_in_thread"] = self.settings.reply_in_thread
        else:
            path, params = MESSAGES_PATH, {"receive_id_type": "chat_id"}
            body["receive_id"] = reply.chat_id
        answer = await self._api("POST", path, body=body, params=params)
        sent_id = str((answer.get("data") or {}).get("message_id") or "")
        if sent_id:
            _remember(self._sent, sent_id, None)
        log.info(
            "feishu reply sent",
            extra={
                "platform": self.name,
                "conversation_id": reply.conversation_id,
                "private": reply.private,
                "message_id": sent_id,
            },
        )

    async def _fetch_token(self) -> tuple[str, float]:
        body = {"app_id": self.settings.app_id, "app_secret": self.settings.app_secret}
        try:
            answer = await self._request("POST", TOKEN_PATH, body=body)
        except _TokenRejected as error:  # cannot happen without a token; keep mypy honest
            raise DeliveryFailed("token endpoint rejected the app", retryable=False) from error
        token = answer.get("tenant_access_token")
        if not token:
            raise DeliveryFailed("token endpoint answered no tenant_access_token", retryable=True)
        return str(token), float(answer.get("expire") or 7200)

    async def _api(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Call the API with the tenant token; an expired token is refreshed and tried again."""
        for attempt in (1, 2):
            token = await self.token.get()
            try:
                return await self._request(method, path, body=body, params=params, token=token)
            except _TokenRejected:
                self.token.invalidate(token)
                log.warning(
                    "feishu token rejected, refreshing",
                    extra={"platform": self.name, "path": path, "attempt": attempt},
                )
        raise DeliveryFailed(f"{method} {path}: fresh token rejected too", retryable=True)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        token: str = "",
    ) -> dict[str, Any]:
        """One API call. Feishu answers errors as ``{"code": N, "msg": ...}``, with HTTP 200 or
        4xx alike, so the code decides: token codes raise :class:`_TokenRejected`."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            session = await self.http.session()
            async with session.request(
                method, self.http.url(path), json=body, params=params, headers=headers
            ) as response:
                status, raw = response.status, await response.read()
                wait = retry_after_seconds(
                    response.headers.get("x-ogw-ratelimit-reset")
                    or response.headers.get("Retry-After")
                )
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise DeliveryFailed(
                f"{method} {path}: {type(error).__name__} {error}", retryable=True
            ) from error
        try:
            answer = json.loads(raw) if raw.strip() else {}
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        code = answer.get("code")
        reason = f"{method} {path}: HTTP {status} code {code} {str(answer.get('msg', ''))[:200]}"
        if code in TOKEN_CODES:
            raise _TokenRejected(reason)
        if status == 429 or status >= 500 or code in RATE_LIMIT_CODES:
            raise DeliveryFailed(reason, retryable=True, retry_after=wait)
        if status >= 400 or code not in (0, None):
            raise DeliveryFailed(reason, retryable=False)
        if not answer:
            raise DeliveryFailed(f"{method} {path}: answer is not JSON", retryable=False)
        return answer

    async def fetch_media(self, attachment: Mapping[str, Any]) -> bytes:
        """An image of a shopper's message: the message-resource API (``type=image``), the one
        that serves images others sent; a rejected token is refreshed and tried once more."""
        path = f"/open-apis/im/v1/messages/{attachment['message_id']}/resources/{attachment['ref']}"
        for _attempt in (1, 2):
            token = await self.token.get()
            try:
                data, _ = await self.http.download(
                    path, params={"type": "image"}, headers={"Authorization": f"Bearer {token}"}
                )
                return data
            except DeliveryFailed as failure:
                if _error_code(failure.body) not in TOKEN_CODES:
                    raise
                self.token.invalidate(token)
        raise DeliveryFailed(f"GET {path}: fresh token rejected too", retryable=True)

    # ------------------------------------------------------------------ long connection
    async def run(self, accept: Accept) -> None:
        """Receive over the SDK's WebSocket client until cancelled.

        ``lark_oapi.ws.Client.start()`` blocks on an event loop of its own, so it runs in a
        thread; each event is parsed and handed to ``accept`` on our loop, and the SDK
        acknowledges it to Feishu only once ``accept`` stored it.
        """
        from lark_oapi.event.dispatcher_handler import EventDispatcherHandler

        main_loop = asyncio.get_running_loop()

        def on_message(event: P2ImMessageReceiveV1) -> None:
            # Runs on the SDK's thread. An exception here makes the SDK answer 500, and Feishu
            # delivers the event again.
            handed = asyncio.run_coroutine_threadsafe(self._hand_over(event, accept), main_loop)
            handed.result(timeout=max(self.settings.timeout_seconds, 10.0))

        # WebSocket payloads are not encrypted: no key and no token to check.
        handler = (
            EventDispatcherHandler.builder("", "")
            .register_p2_im_message_receive_v1(on_message)
            .build()
        )
        finished: Future[None] = Future()
        self._ws_stop.clear()
        thread = threading.Thread(
            target=self._ws_thread, args=(handler, finished), name="feishu-ws", daemon=True
        )
        thread.start()
        log.info("feishu long connection starting", extra={"platform": self.name})
        try:
            await asyncio.wrap_future(finished)
        finally:
            await self._stop_ws_thread(thread)
        raise ConnectionError("feishu long connection ended")

    async def _hand_over(self, event: P2ImMessageReceiveV1, accept: Accept) -> None:
        message = await self._to_message(event)
        if message is not None:
            await accept(message)

    def _ws_thread(self, handler: Any, finished: Future[None]) -> None:
        """The SDK client on a fresh event loop in this thread (its module keeps one global
        loop, made at import time, which may be ours: point it at this thread's)."""
        import lark_oapi.ws.client as ws_client
        from lark_oapi.core.enum import LogLevel

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        ws_client.loop = loop
        self._ws_loop = loop
        client = None
        try:
            if self._ws_stop.is_set():
                return
            client = ws_client.Client(
                self.settings.app_id,
                self.settings.app_secret,
                event_handler=handler,
                domain=self.settings.api_base.rstrip("/"),
                log_level=LogLevel.WARNING,
            )
            client.start()
        except BaseException as error:  # noqa: BLE001 - reported to run(), which reconnects
            if not self._ws_stop.is_set():
                log.warning(
                    "feishu long connection failed",
                    extra={"platform": self.name, "error": f"{type(error).__name__} {error}"},
                )
        finally:
            self._ws_loop = None  # run() stops stopping us: cleanup needs the loop
            _close_loop(loop, client)
            if not finished.done():
                finished.set_result(None)

    def _stop_ws(self) -> None:
        self._ws_stop.set()
        loop = self._ws_loop
        if loop is not None and not loop.is_closed():
            with suppress(RuntimeError):  # closed in between: the thread is done anyway
                loop.call_soon_threadsafe(loop.stop)

    async def _stop_ws_thread(self, thread: threading.Thread, timeout: float = 10.0) -> None:
        """Stop the SDK's loop until its thread ends: ``start()`` catches a stopped
        ``run_until_complete`` once and goes on reconnecting, so one stop is not enough."""
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline:
            self._stop_ws()
            await asyncio.sleep(0.05)
        if thread.is_alive():
            log.warning("feishu long connection thread did not stop", extra={"platform": self.name})

    async def close(self) -> None:
        self._stop_ws()
        await self.http.close()


# ---------------------------------------------------------------------- helpers
def _json_object(raw: bytes | str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise BadPayload(f"{what} is not JSON") from error
    if not isinstance(value, dict):
        raise BadPayload(f"{what} is not a JSON object")
    return value


def _message_text(message_type: str, content: str) -> str:
    """The words of a text or rich-text (post) message; other types (images, files) have none."""
    try:
        body = json.loads(content) if content else {}
    except ValueError as error:
        raise BadPayload("message content is not JSON") from error
    if not isinstance(body, dict):
        return ""
    if message_type == "text":
        return str(body.get("text") or "")
    if message_type == "post":
        lines = [str(body.get("title") or "")]
        for paragraph in body.get("content") or []:
            parts = []
            for element in paragraph if isinstance(paragraph, list) else []:
                if not isinstance(element, dict):
                    continue
                if element.get("tag") in ("text", "a"):
                    parts.append(str(element.get("text") or ""))
                elif element.get("tag") == "at":
                    parts.append(str(element.get("user_id") or ""))  # a key such as @_user_1
            lines.append("".join(parts))
        return "\n".join(line for line in lines if line.strip())
    return ""


def _error_code(body: bytes) -> Any:
    """The ``code`` of a Feishu error body, if it is one."""
    try:
        answer = json.loads(body) if body else {}
    except ValueError:
        return None
    return answer.get("code") if isinstance(answer, dict) else None


def _image_attachments(message_type: str, content: str, message_id: str) -> list[dict[str, Any]]:
    """The images of an ``image`` message or inside a ``post`` (rich text), by image_key."""
    try:
        body = json.loads(content) if content else {}
    except ValueError:
        return []  # _message_text has refused the message already
    if not isinstance(body, dict):
        return []
    keys: list[Any] = []
    if message_type == "image":
        keys = [body.get("image_key")]
    elif message_type == "post":
        keys = [
            element.get("image_key")
            for paragraph in body.get("content") or []
            for element in (paragraph if isinstance(paragraph, list) else [])
            if isinstance(element, dict) and element.get("tag") == "img"
        ]
    return [
        {"kind": "image", "ref": str(key), "message_id": message_id}
        for key in keys
        if isinstance(key, str) and key
    ]


def _created_at(create_time: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(create_time) / 1000, timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(timezone.utc)


def _send_uuid(reply: OutgoingReply) -> str:
    """Same reply to the same message → same uuid (Feishu allows up to 50 characters)."""
    key = "\x1f".join(
        (reply.chat_id, reply.in_reply_to, reply.to_user, str(reply.private), reply.text)
    )
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def _remember(memory: OrderedDict[str, Any], key: str, value: Any) -> None:
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > _SENT_MEMORY:
        memory.popitem(last=False)


def _close_loop(loop: asyncio.AbstractEventLoop, client: Any) -> None:
    """Close the SDK's connection and cancel its tasks (ping, receive, reconnect)."""
    try:
        # Tasks first: the receive loop would otherwise see the close and reconnect.
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            _complete(loop, asyncio.gather(*pending, return_exceptions=True))
        if client is not None and getattr(client, "_conn", None) is not None:
            _complete(loop, client._disconnect())
    except Exception as error:  # noqa: BLE001 - best effort on the way out
        log.debug("feishu long connection cleanup", extra={"error": str(error)})
    finally:
        loop.close()


def _complete(loop: asyncio.AbstractEventLoop, awaitable: Any) -> None:
    """Run ``awaitable`` to its end even if a stop from :meth:`run` was still queued."""
    future = asyncio.ensure_future(awaitable, loop=loop)
    for _ in range(3):
        with suppress(RuntimeError):  # "Event loop stopped before Future completed"
            loop.run_until_complete(future)
            return
