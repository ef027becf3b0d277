"""WeCom AI bot (企业微信智能机器人), API mode: encrypted JSON callbacks, replies by response_url.

WeCom posts ``{"encrypt": "..."}`` with ``msg_signature``, ``timestamp`` and ``nonce`` in the
query; the plaintext is JSON (``msgid``, ``chattype``, ``from.userid``, ``response_url``,
``msgtype``...). The scheme is WeCom's usual one (SHA1 over the sorted token, timestamp, nonce
and ciphertext; AES-256-CBC with the EncodingAESKey) with an empty receive id, so wechatpy's
enterprise crypto does the work. We acknowledge every callback with an empty body and answer
later through the message's one-time ``response_url`` as markdown.

An AI bot can only speak in the conversation it was called from, so it cannot reach a shopper
privately from a group: ``supports_private`` is False and the group layer asks the shopper to
message the bot directly (a single chat with the bot is a private conversation).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import Field, field_validator
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

from assistant.connectors.base import (
    BadPayload,
    BadSignature,
    Connector,
    ConnectorSettings,
    DeliveryFailed,
    Inbound,
    check_fresh,
)
from assistant.connectors.http import PlatformHTTP
from assistant.messages import IncomingMessage, OutgoingReply

__all__ = ["WeComBotConnector", "WeComBotSettings"]

log = logging.getLogger("assistant.connectors")

# Self-built AI bots encrypt with an empty receive id (WeCom docs, 回调和回复的加解密方案).
RECEIVE_ID = ""
# response_url markdown content limit, in UTF-8 bytes.
MAX_MARKDOWN_BYTES = 20480
# errcodes that mean "try again later": system busy, API frequency limits.
RETRYABLE_ERRCODES = frozenset({-1, 45009, 45033})
# Message types that carry something a shopper said.
TEXT_TYPES = frozenset({"text", "mixed", "voice", "image", "file"})


class WeComBotSettings(ConnectorSettings):
    """``connectors.wecom_bot`` in assistant.yml: the bot's API-mode Token and EncodingAESKey."""

    api_base: str = "https://qyapi.weixin.qq.com"
    token: str = Field(min_length=1)
    encoding_aes_key: str
    # Callbacks whose timestamp is further than this from our clock are refused (replays).
    timestamp_window_seconds: float = Field(default=300.0, gt=0)
    # Answered (encrypted, passively) when a shopper first opens the bot's single chat each
    # day; empty: no welcome.
    welcome_text: str = ""

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key(cls, value: str) -> str:
        try:
            key = base64.b64decode(value + "=", validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError("must be the 43-character EncodingAESKey from the console") from error
        if len(value) != 43 or len(key) != 32:
            raise ValueError("must be the 43-character EncodingAESKey from the console")
        return value


class WeComBotConnector(Connector):
    """Verifies and decrypts WeCom AI bot callbacks; replies through ``response_url``."""

    name: ClassVar[str] = "wecom_bot"
    supports_private: ClassVar[bool] = False
    settings_model: ClassVar[type[ConnectorSettings]] = WeComBotSettings

    def __init__(self, settings: ConnectorSettings) -> None:
        super().__init__(settings)
        assert isinstance(settings, WeComBotSettings)
        self.config = settings
        self.crypto = WeChatCrypto(settings.token, settings.encoding_aes_key, RECEIVE_ID)
        self.http = PlatformHTTP(settings.api_base, timeout_seconds=settings.timeout_seconds)

    # ------------------------------------------------------------------ receiving
    async def receive(self, request: web.Request) -> Inbound:
        if request.method == "GET":
            return Inbound(response=web.Response(text=self._verify_url(request)))
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
        signature, timestamp, nonce = self._query(request)
        try:
            body = json.loads(await request.read())
            encrypted = body["encrypt"]
        except (ValueError, TypeError, KeyError) as error:
            raise BadPayload(f"body is not {{'encrypt': ...}} JSON: {error!r}") from error
        if not isinstance(encrypted, str) or not encrypted:
            raise BadPayload("empty 'encrypt' field")
        plaintext = self._decrypt(signature, timestamp, nonce, encrypted)
        try:
            payload = json.loads(plaintext)
        except ValueError as error:
            raise BadPayload("decrypted callback is not JSON") from error
        if not isinstance(payload, dict):
            raise BadPayload("decrypted callback is not a JSON object")
        return self._inbound(payload, nonce)

    def _query(self, request: web.Request) -> tuple[str, str, str]:
        """The signature parameters, with the timestamp inside the accepted window."""
        query = request.query
        signature, timestamp, nonce = (
            query.get(k, "") for k in ("msg_signature", "timestamp", "nonce")
        )
        if not (signature and timestamp and nonce):
            raise BadPayload("msg_signature, timestamp and nonce are required")
        try:
            sent = int(timestamp)  # seconds; int() also refuses "nan"/"inf"
        except ValueError as error:
            raise BadPayload(f"timestamp {timestamp!r} is not a number") from error
        check_fresh(sent, self.config.timestamp_window_seconds)
        return signature, timestamp, nonce

    def _verify_url(self, request: web.Request) -> str:
        """URL verification (GET): answer the decrypted echostr as plain text."""
        signature, timestamp, nonce = self._query(request)
        # Base64 '+' arrives as a space when the query was not %-encoded; base64 has no spaces.
        echostr = request.query.get("echostr", "").replace(" ", "+")
        if not echostr:
            raise BadPayload("echostr is required for URL verification")
        echo = self._decrypt(signature, timestamp, nonce, echostr)
        log.info("url verified", extra={"platform": self.name})
        return echo

    def _decrypt(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Check the SHA1 signature, then AES-decrypt with wechatpy (receive id "")."""
        try:
            # wechatpy reads the ciphertext from a dict's "Encrypt" key (its XML field name).
            return str(
                self.crypto.decrypt_message({"Encrypt": encrypted}, signature, timestamp, nonce)
            )
        except InvalidSignatureException as error:
            raise BadSignature("msg_signature does not match token and body") from error
        except Exception as error:  # noqa: BLE001 - a wrong key fails anywhere inside the SDK
            raise BadPayload(f"callback does not decrypt: {type(error).__name__}") from error

    def _inbound(self, payload: dict[str, Any], nonce: str) -> Inbound:
        """One callback to a message for the group layer, or just an acknowledgement."""
        ack = web.Response(text="")  # an empty body: "received, no passive reply"
        msgtype = str(payload.get("msgtype") or "")
        if msgtype == "event":
            return Inbound(response=self._event_response(payload, nonce) or ack)
        if msgtype not in TEXT_TYPES:
            # Stream refreshes (we never answer with a stream) and types WeCom adds later.
            log.info("callback ignored", extra={"platform": self.name, "msgtype": msgtype})
            return Inbound(response=ack)
        return Inbound(messages=[self._message(payload, msgtype)], response=ack)

    def _message(self, payload: dict[str, Any], msgtype: str) -> IncomingMessage:
        sender = payload.get("from") if isinstance(payload.get("from"), dict) else {}
        user_id = str(sender.get("userid") or "")
        message_id = str(payload.get("msgid") or "")
        response_url = str(payload.get("response_url") or "")
        if not (user_id and message_id):
            raise BadPayload("message callback without msgid or from.userid")
        group = payload.get("chattype") == "group"
        chat_id = str(payload.get("chatid") or "") if group else user_id
        if not chat_id:
            raise BadPayload("group message callback without chatid")
        return IncomingMessage(
            platform=self.name,
            chat_id=chat_id,
            chat_type="group" if group else "private",
            sender_id=user_id,
            sender_name=user_id,  # callbacks carry no display name
            text=message_text(payload, msgtype),
            message_id=message_id,
            # WeCom only calls the bot back from a group when it was @-mentioned.
            mentions_assistant=group,
            context={"response_url": response_url},
            attachments=image_attachments(payload, msgtype),
        )

    def _event_response(self, payload: dict[str, Any], nonce: str) -> web.Response | None:
        """Welcome text for ``enter_chat`` (passive, encrypted); other events need nothing."""
        event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
        eventtype = str(event.get("eventtype") or "")
        log.info("event received", extra={"platform": self.name, "eventtype": eventtype})
        if eventtype != "enter_chat" or not self.config.welcome_text:
            return None
        reply = {"msgtype": "text", "text": {"content": self.config.welcome_text}}
        return web.json_response(self.encrypt_reply(reply, nonce))

    def encrypt_reply(self, reply: dict[str, Any], nonce: str) -> dict[str, Any]:
        """A passive reply as WeCom wants it: encrypted JSON, signed, echoing the nonce."""
        plaintext = json.dumps(reply, ensure_ascii=False)
        encrypted = PrpCrypto(self.crypto.key).encrypt(plaintext, RECEIVE_ID).decode()
        timestamp = str(int(time.time()))
        return {
            "encrypt": encrypted,
            "msgsignature": sign(self.config.token, timestamp, nonce, encrypted),
            "timestamp": int(timestamp),
            "nonce": nonce,
        }

    # ------------------------------------------------------------------ sending
    def combine(self, replies: list[OutgoingReply]) -> list[OutgoingReply]:
        """One markdown message per shopper message: its response_url works only once."""
        if len(replies) <= 1:
            return replies
        first = replies[0]
        return [replace(first, text="\n\n".join(r.text for r in replies))]

    async def send(self, reply: OutgoingReply) -> None:
        """POST markdown to the message's response_url (one use, valid about an hour)."""
        url = str(reply.context.get("response_url") or "")
        if not url:
            raise DeliveryFailed("message has no response_url to answer with", retryable=False)
        # response_url comes from a verified callback; still, only ever post to WeCom's API.
        if not url.startswith(self.http.api_base + "/"):
            raise DeliveryFailed(f"response_url outside {self.http.api_base}", retryable=False)
        content = reply.text
        if reply.mention and reply.chat_type == "group":
            content = f"<@{reply.to_user}> {content}"
        body = {"msgtype": "markdown", "markdown": {"content": fit_bytes(content)}}
        answer = await self.http.request("POST", url, json_body=body)
        errcode = int(answer.get("errcode", 0)) if isinstance(answer, dict) else 0
        if errcode != 0:
            errmsg = str(answer.get("errmsg", "")) if isinstance(answer, dict) else ""
            # Expired or already used response_urls never come back: not worth retrying.
            raise DeliveryFailed(
                f"response_url answered errcode {errcode}: {errmsg}",
                retryable=errcode in RETRYABLE_ERRCODES,
            )
        log.info(
            "reply sent",
            extra={
                "platform": self.name,
                "conversation_id": reply.conversation_id,
                "in_reply_to": reply.in_reply_to,
            },
        )

    async def fetch_media(self, attachment: Mapping[str, Any]) -> bytes:
        """An image the shopper sent: downloaded from its URL (valid a few minutes), then
        decrypted with the message's own ``aeskey``, or the bot's EncodingAESKey."""
        data, _ = await self.http.download(str(attachment["ref"]))
        return decrypt_media(data, str(attachment.get("aeskey") or self.config.encoding_aes_key))

    async def close(self) -> None:
        await self.http.close()


def message_text(payload: dict[str, Any], msgtype: str) -> str:
    """What the shopper said: text, the text parts of a mixed message, or a voice transcript.

    Images and files carry no text (the group layer then asks the shopper to say it again).
    """
    part = payload.get(msgtype)
    if not isinstance(part, dict):
        return ""
    if msgtype in ("text", "voice"):
        return str(part.get("content") or "")
    if msgtype == "mixed":
        items = part.get("msg_item") if isinstance(part.get("msg_item"), list) else []
        texts = [
            str((item.get("text") or {}).get("content") or "")
            for item in items
            if isinstance(item, dict) and item.get("msgtype") == "text"
        ]
        return " ".join(t for t in texts if t)
    return ""


def image_attachments(payload: dict[str, Any], msgtype: str) -> list[dict[str, Any]]:
    """The images of an ``image`` message or of a ``mixed`` one (text and pictures)."""
    part = payload.get(msgtype)
    if not isinstance(part, dict):
        return []
    images: list[Any] = [part] if msgtype == "image" else []
    if msgtype == "mixed":
        items = part.get("msg_item") if isinstance(part.get("msg_item"), list) else []
        images = [
            item.get("image")
            for item in items
            if isinstance(item, dict) and item.get("msgtype") == "image"
        ]
    attachments = []
    for image in images:
        if isinstance(image, dict) and image.get("url"):
            attachment = {"kind": "image", "ref": str(image["url"])}
            if image.get("aeskey"):
                attachment["aeskey"] = str(image["aeskey"])
            attachments.append(attachment)
    return attachments


def decrypt_media(data: bytes, aes_key: str) -> bytes:
    """WeCom's media encryption: AES-256-CBC, the key's first 16 bytes as IV, PKCS#7 padding
    to 32-byte blocks (the scheme of its callbacks)."""
    key = base64.b64decode(aes_key + "=" * (-len(aes_key) % 4))
    if len(key) != 32 or not data or len(data) % 16:
        raise DeliveryFailed("image does not decrypt: wrong key or truncated file", retryable=False)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    padding = plain[-1]
    if not 1 <= padding <= 32 or plain[-padding:] != bytes([padding]) * padding:
        raise DeliveryFailed("image does not decrypt: bad padding", retryable=False)
    return plain[:-padding]


def sign(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """WeCom's msg_signature: SHA1 over the sorted token, timestamp, nonce and ciphertext."""
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, encrypted)
    return str(signer.signature)


def fit_bytes(text: str, limit: int = MAX_MARKDOWN_BYTES) -> str:
    """Cut ``text`` to ``limit`` UTF-8 bytes without splitting a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"
