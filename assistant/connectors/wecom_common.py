"""What WeCom's self-built app and WeChat Customer Service share: the encrypted callback, the corp
access token, and WeCom's ``errcode`` answers."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any

import xmltodict
from aiohttp import web
from pydantic import Field, field_validator
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from assistant.connectors.base import (
    BadPayload,
    BadSignature,
    ConnectorSettings,
    DeliveryFailed,
    StaleRequest,
    check_fresh,
)
from assistant.connectors.http import AccessToken, PlatformHTTP

__all__ = [
    "WECOM_API",
    "Callback",
    "CallbackCrypto",
    "WeComAPI",
    "WeComSettings",
    "acknowledge",
    "split_text",
    "xml_fields",
]

log = logging.getLogger("assistant.connectors")

WECOM_API = "https://qyapi.weixin.qq.com"
# The token WeCom says is invalid or expired (40001 also covers a token of a rotated secret).
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# System busy, API frequency and concurrency limits: worth another try later.
RETRYABLE_ERRORS = frozenset({-1, 45009, 45033})
# Text message content limit of message/send and kf/send_msg, in UTF-8 bytes.
MAX_TEXT_BYTES = 2048


class WeComSettings(ConnectorSettings):
    """Credentials of one WeCom callback receiver that also calls the API with a corp token."""

    api_base: str = WECOM_API
    corp_id: str = Field(min_length=1)
    # The app's (or WeChat Customer Service's) secret: the access token is fetched with it.
    secret: str = Field(min_length=1)
    # The callback's Token and EncodingAESKey, as set in the admin console.
    token: str = Field(min_length=1)
    encoding_aes_key: str = Field(min_length=43, max_length=43)
    # Callbacks whose timestamp is further from now than this are refused as replays.
    timestamp_window_seconds: float = Field(300.0, gt=0)

    @field_validator("encoding_aes_key")
    @classmethod
    def _is_an_aes_key(cls, value: str) -> str:
        try:
            key = base64.b64decode(value + "=", validate=True)
        except binascii.Error as error:
            raise ValueError("not the console's EncodingAESKey (43 base64 characters)") from error
        if len(key) != 32:
            raise ValueError("not the console's EncodingAESKey (43 base64 characters)")
        return value


@dataclass(frozen=True)
class Callback:
    """One verified callback request: a URL check (``echo``) or a decrypted XML message."""

    echo: str | None = None
    xml: str = ""


class CallbackCrypto:
    """Verifies and decrypts WeCom callbacks with wechatpy's ``WeChatCrypto``."""

    def __init__(self, settings: WeComSettings) -> None:
        self._crypto = WeChatCrypto(settings.token, settings.encoding_aes_key, settings.corp_id)
        self._tolerance = settings.timestamp_window_seconds

    async def open(self, request: web.Request) -> Callback:
        """The URL check (GET) or the decrypted message (POST); raises ``RequestRejected``."""
        signature = request.query.get("msg_signature", "")
        timestamp = request.query.get("timestamp", "")
        nonce = request.query.get("nonce", "")
        if not (signature and timestamp and nonce):
            raise BadSignature("missing msg_signature, timestamp or nonce")
        self._check_fresh(timestamp)
        if request.method == "GET":
            return Callback(echo=self._verify_url(signature, timestamp, nonce, request.query))
        if request.method != "POST":
            raise BadPayload(f"WeCom does not send {request.method} requests")
        encrypted = _encrypted_field(await request.read())
        try:
            plain = self._crypto.decrypt_message(
                {"Encrypt": encrypted}, signature, timestamp, nonce
            )
        except InvalidSignatureException as error:
            raise BadSignature("msg_signature does not match the callback Token") from error
        except Exception as error:  # noqa: BLE001 - wechatpy raises anything on a bad key
            raise BadPayload("body does not decrypt with this EncodingAESKey / corp id") from error
        return Callback(xml=plain)

    def _verify_url(self, signature: str, timestamp: str, nonce: str, query: Any) -> str:
        echostr = query.get("echostr", "")
        if not echostr:
            raise BadPayload("URL verification without echostr")
        try:
            return str(self._crypto.check_signature(signature, timestamp, nonce, echostr))
        except InvalidSignatureException as error:
            raise BadSignature("msg_signature does not match the callback Token") from error
        except Exception as error:  # noqa: BLE001
            raise BadPayload("echostr does not decrypt with this EncodingAESKey") from error

    def _check_fresh(self, timestamp: str) -> None:
        try:
            sent = int(timestamp)
        except ValueError as error:
            raise StaleRequest(f"timestamp {timestamp[:20]!r} is not a number") from error
        check_fresh(sent, self._tolerance)


def _encrypted_field(body: bytes) -> str:
    """The ``Encrypt`` element of the XML envelope WeCom posts."""
    try:
        encrypted = xmltodict.parse(body)["xml"]["Encrypt"]
    except Exception as error:  # noqa: BLE001 - expat, missing root, missing element alike
        raise BadPayload("body is not WeCom's encrypted XML envelope") from error
    if not isinstance(encrypted, str) or not encrypted:
        raise BadPayload("empty Encrypt element")
    return encrypted


def xml_fields(xml: str) -> dict[str, Any]:
    """A decrypted callback's elements (``<xml><MsgType>...``) as a dict."""
    try:
        fields = xmltodict.parse(xml)["xml"]
    except Exception as error:  # noqa: BLE001
        raise BadPayload("decrypted callback is not XML") from error
    if not isinstance(fields, dict):
        raise BadPayload("decrypted callback has no elements")
    return fields


def acknowledge(body: str = "") -> web.Response:
    """HTTP 200 within WeCom's 5 s: anything else makes WeCom retry the callback."""
    return web.Response(text=body)


def split_text(text: str, max_bytes: int = MAX_TEXT_BYTES) -> list[str]:
    """``text`` in pieces WeCom accepts (at most ``max_bytes`` UTF-8 bytes), split at line ends
    where possible so a long answer arrives as several readable messages."""
    if len(text.encode()) <= max_bytes:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        if len((current + line).encode()) > max_bytes:
            pieces.append(current)
            current = ""
        while len(line.encode()) > max_bytes:
            cut = _fit(line, max_bytes)
            pieces.append(line[:cut])
            line = line[cut:]
        current += line
    pieces.append(current)
    return [piece.rstrip("\n") for piece in pieces if piece.strip()]


def _fit(text: str, max_bytes: int) -> int:
    """How many characters of ``text`` fit in ``max_bytes``."""
    size = 0
    for index, char in enumerate(text):
        size += len(char.encode())
        if size > max_bytes:
            return index
    return len(text)


class WeComAPI:
    """WeCom's server API with a corp access token (``/cgi-bin/gettoken``).

    Every answer carries ``errcode``: an invalid or expired token is fetched again and the call
    retried once; busy / rate-limit codes are retryable; anything else is not.
    """

    def __init__(self, settings: WeComSettings) -> None:
        self._corp_id = settings.corp_id
        self._secret = settings.secret
        self.http = PlatformHTTP(settings.api_base, timeout_seconds=settings.timeout_seconds)
        self.token = AccessToken(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, float]:
        path = "/cgi-bin/gettoken"
        answer = await self.http.request(
            "GET", path, params={"corpid": self._corp_id, "corpsecret": self._secret}
        )
        _raise_for_errcode(path, answer)
        token = str(answer.get("access_token") or "")
        if not token:
            raise DeliveryFailed(f"{path}: answer without access_token", retryable=False)
        return token, float(answer.get("expires_in") or 7200)

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``path?access_token=``; the decoded answer when ``errcode`` is 0."""
        for attempt in (1, 2):
            token = await self.token.get()
            answer = await self.http.request(
                "POST", path, json_body=body, params={"access_token": token}
            )
            code = _errcode(answer)
            if code in TOKEN_ERRORS:
                self.token.invalidate(token)
                log.warning(
                    "wecom access token rejected, fetching a new one",
                    extra={"path": path, "errcode": code, "attempt": attempt},
                )
                continue
            _raise_for_errcode(path, answer)
            return answer
        raise DeliveryFailed(f"{path}: access token rejected twice", retryable=True)

    async def media(self, media_id: str) -> bytes:
        """A file a member sent (``media/get`` by MediaId). WeCom answers the file itself, or
        a JSON ``errcode`` body (expired media, bad token) that is handled like :meth:`post`."""
        path = "/cgi-bin/media/get"
        for attempt in (1, 2):
            token = await self.token.get()
            data, content_type = await self.http.download(
                path, params={"access_token": token, "media_id": media_id}
            )
            if not content_type.startswith(("application/json", "text/plain")):
                return data
            try:
                answer = json.loads(data)
            except ValueError:
                return data  # a text-like type with a body that is no errcode: the file
            if _errcode(answer) in TOKEN_ERRORS:
                self.token.invalidate(token)
                log.warning(
                    "wecom access token rejected, fetching a new one",
                    extra={"path": path, "attempt": attempt},
                )
                continue
            _raise_for_errcode(path, answer)
            raise DeliveryFailed(f"{path}: answered JSON instead of the file", retryable=False)
        raise DeliveryFailed(f"{path}: access token rejected twice", retryable=True)

    async def close(self) -> None:
        await self.http.close()


def _errcode(answer: Any) -> int:
    if not isinstance(answer, dict):
        raise DeliveryFailed("WeCom answered without a JSON object", retryable=False)
    try:
        return int(answer.get("errcode", 0))
    except (TypeError, ValueError) as error:
        raise DeliveryFailed(f"errcode {answer.get('errcode')!r}", retryable=False) from error


def _raise_for_errcode(path: str, answer: Any) -> None:
    code = _errcode(answer)
    if code == 0:
        return
    reason = f"{path}: errcode {code} {str(answer.get('errmsg', ''))[:200]}"
    raise DeliveryFailed(reason, retryable=code in RETRYABLE_ERRORS or code in TOKEN_ERRORS)
