"""DingTalk (钉钉) enterprise-internal robot: HTTP callback or Stream mode in, robot API out.

Incoming messages arrive either as signed HTTP callbacks (``mode: http``) or over DingTalk's
Stream long connection (``mode: stream``, no public URL needed); both carry the same robot
message, parsed with the official ``dingtalk_stream.ChatbotMessage``.

Replies go back through the message's ``sessionWebhook`` while it is valid (it @-mentions the
shopper), otherwise through the robot OpenAPI: ``groupMessages/send`` into the group and
``oToMessages/batchSend`` to one shopper (private replies).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import platform
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote_plus, urlsplit

import websockets
from aiohttp import web
from dingtalk_stream import (
    AckMessage,
    CallbackMessage,
    ChatbotHandler,
    ChatbotMessage,
    Credential,
    DingTalkStreamClient,
)
from dingtalk_stream.version import VERSION_STRING
from pydantic import Field

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
from assistant.connectors.http import AccessToken, PlatformHTTP
from assistant.messages import IncomingMessage, OutgoingReply

__all__ = ["DingTalkConnector", "DingTalkSettings", "sign"]

log = logging.getLogger("assistant.connectors")
# The Stream SDK's own log lines: it reports every gateway ping as an "unknown message topic"
# warning, so only its errors are let through.
sdk_log = logging.getLogger("assistant.connectors.dingtalk_sdk")
sdk_log.setLevel(logging.ERROR)

PLATFORM = "dingtalk"
TOKEN_PATH = "/v1.0/oauth2/accessToken"
# Exchanges a received file's downloadCode for a download URL.
MEDIA_PATH = "/v1.0/robot/messageFiles/download"
PRIVATE_SEND_PATH = "/v1.0/robot/oToMessages/batchSend"
GROUP_SEND_PATH = "/v1.0/robot/groupMessages/send"
STREAM_OPEN_PATH = "/v1.0/gateway/connections/open"
# sessionWebhook errcodes that mean "too fast": worth retrying, not worth a fallback.
THROTTLED_ERRCODES = frozenset({130101})
# A session webhook this close to its expiry is not trusted to still be valid on arrival.
SESSION_MARGIN_MS = 60_000


class DingTalkSettings(ConnectorSettings):
    """``connectors.dingtalk`` in ``assistant.yml``."""

    #: ``http``: DingTalk posts to ``/webhooks/dingtalk``; ``stream``: we connect out to it.
    mode: Literal["http", "stream"] = "http"
    #: The app's Client ID (AppKey) and Client Secret (AppSecret).
    app_key: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)
    #: The robot's code; for an enterprise-internal robot it is the AppKey (the default).
    robot_code: str = ""
    #: New-style OpenAPI (tokens, robot sends, Stream gateway).
    api_base: str = "https://api.dingtalk.com"
    #: Old-style API host; session webhooks are only posted to URLs on this host.
    oapi_base: str = "https://oapi.dingtalk.com"
    #: DingTalk's own rule: a callback timestamp more than an hour off is refused.
    timestamp_window_seconds: int = Field(default=3600, ge=1)


def sign(timestamp: str, app_secret: str) -> str:
    """The ``sign`` header: base64(HmacSHA256(key=appSecret, msg=timestamp + "\\n" + appSecret))."""
    digest = hmac.new(
        app_secret.encode("utf-8"),
        f"{timestamp}\n{app_secret}".encode(),
        hashlib.sha256,
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _token_rejected(failure: DeliveryFailed) -> bool:
    """DingTalk's v1.0 API answers an expired/invalid token with 401, or 400 and
    ``{"code": "InvalidAuthentication"}`` (PlatformHTTP keeps the status and body in the reason)."""
    return "HTTP 401" in failure.reason or "InvalidAuthentication" in failure.reason


class DingTalkConnector(Connector):
    """DingTalk enterprise-internal robot, in HTTP-callback or Stream mode."""

    name: ClassVar[str] = PLATFORM
    supports_private: ClassVar[bool] = True
    settings_model: ClassVar[type[ConnectorSettings]] = DingTalkSettings

    def __init__(self, settings: ConnectorSettings) -> None:
        if not isinstance(settings, DingTalkSettings):
            settings = DingTalkSettings.model_validate(settings.model_dump())
        super().__init__(settings)
        self.settings: DingTalkSettings = settings
        self._api = PlatformHTTP(settings.api_base, timeout_seconds=settings.timeout_seconds)
        self.token = AccessToken(self._fetch_token)
        self._session_origin = _origin(settings.oapi_base)

    @property
    def robot_code(self) -> str:
        return self.settings.robot_code or self.settings.app_key

    @property
    def long_connection(self) -> bool:
        return self.settings.mode == "stream"

    # ------------------------------------------------------------------ receiving (HTTP)
    async def receive(self, request: web.Request) -> Inbound:
        """Verify the ``timestamp``/``sign`` headers, then parse the robot message."""
        if request.method != "POST":
            raise BadPayload(f"{request.method} not accepted; DingTalk posts callbacks")
        self.verify(request.headers.get("timestamp", ""), request.headers.get("sign", ""))
        try:
            data = json.loads(await request.read())
        except ValueError as error:
            raise BadPayload(f"body is not JSON: {error}") from error
        message = self.parse(data)
        return Inbound(messages=[message] if message else [])

    def verify(self, timestamp: str, signature: str, *, now: float | None = None) -> None:
        """Raise :class:`BadSignature` or :class:`StaleRequest` unless DingTalk signed this."""
        if not timestamp or not signature:
            raise BadSignature("timestamp or sign header missing")
        expected = sign(timestamp, self.settings.app_secret)
        if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
            raise BadSignature("sign does not match the app secret")
        try:
            sent_ms = int(timestamp)
        except ValueError as error:
            raise BadSignature("timestamp is not a number") from error
        # Checked after the signature, so a valid but replayed request is named as such.
        check_fresh(sent_ms / 1000, self.settings.timestamp_window_seconds, now)

    def parse(self, data: Any) -> IncomingMessage | None:
        """One robot message (HTTP body or Stream callback data); None for kinds we ignore."""
        if not isinstance(data, dict):
            raise BadPayload("body is not a JSON object")
        try:
            robot = ChatbotMessage.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise BadPayload(f"not a robot message: {type(error).__name__} {error}") from error
        if not robot.message_id or not robot.conversation_id:
            raise BadPayload("msgId or conversationId missing")
        if robot.conversation_type not in ("1", "2"):
            raise BadPayload(f"unknown conversationType {robot.conversation_type!r}")
        staff_id = str(robot.sender_staff_id or "")
        sender_id = staff_id or str(robot.sender_id or "")
        if not sender_id:
            raise BadPayload("senderStaffId and senderId missing")
        text = self._text(robot)
        images = self._images(robot)
        if text is None and not images:
            log.info(
                "dingtalk message type ignored",
                extra={
                    "platform": PLATFORM,
                    "msgtype": robot.message_type,
                    "msg_id": robot.message_id,
                },
            )
            return None
        group = robot.conversation_type == "2"
        return IncomingMessage(
            platform=PLATFORM,
            chat_id=str(robot.conversation_id),
            chat_type="group" if group else "private",
            sender_id=sender_id,
            sender_name=str(robot.sender_nick or sender_id),
            text=text or "",
            message_id=str(robot.message_id),
            mentions_assistant=group and self._mentions_robot(robot),
            replies_to_assistant=group and self._replies_to_robot(robot),
            context={
                "session_webhook": robot.session_webhook or "",
                "session_webhook_expires_ms": int(robot.session_webhook_expired_time or 0),
                "robot_code": robot.robot_code or "",
                "staff_id": staff_id,
                "conversation_type": robot.conversation_type,
            },
            attachments=images,
        )

    @staticmethod
    def _text(robot: ChatbotMessage) -> str | None:
        """The message text as sent (DingTalk already leaves out the @robot part)."""
        if robot.message_type == "text" and robot.text is not None:
            return str(robot.text.content or "")
        if robot.message_type == "richText" and robot.rich_text_content is not None:
            return "".join(str(part) for part in robot.get_text_list() or [])
        return None  # pictures, audio, files, cards: nothing the assistant can answer

    @staticmethod
    def _images(robot: ChatbotMessage) -> list[dict[str, Any]]:
        """A picture message's image, or the pictures inside rich text, by downloadCode."""
        codes: list[Any] = []
        if robot.message_type == "picture" and robot.image_content is not None:
            codes = [robot.image_content.download_code]
        elif robot.message_type == "richText" and robot.rich_text_content is not None:
            items = robot.rich_text_content.rich_text_list or []
            codes = [item.get("downloadCode") for item in items if isinstance(item, dict)]
        return [
            {"kind": "image", "ref": str(code), "robot_code": robot.robot_code or ""}
            for code in codes
            if code
        ]

    async def fetch_media(self, attachment: Mapping[str, Any]) -> bytes:
        """An image a shopper sent: its downloadCode is exchanged for a short-lived download
        URL (``robot/messageFiles/download``), which is then fetched."""
        answer = await self._call(
            MEDIA_PATH,
            {
                "downloadCode": str(attachment["ref"]),
                "robotCode": str(attachment.get("robot_code") or self.robot_code),
            },
        )
        url = answer.get("downloadUrl") if isinstance(answer, dict) else None
        if not url:
            raise DeliveryFailed(f"{MEDIA_PATH}: answer without downloadUrl", retryable=False)
        data, _ = await self._api.download(str(url))
        return data

    @staticmethod
    def _mentions_robot(robot: ChatbotMessage) -> bool:
        if robot.is_in_at_list:
            return True
        bot = robot.chatbot_user_id
        return bool(bot) and any(user.dingtalk_id == bot for user in robot.at_users or [])

    @staticmethod
    def _replies_to_robot(robot: ChatbotMessage) -> bool:
        """A quote-reply of one of the robot's messages (``text.repliedMsg.senderId``)."""
        extras = robot.text.extensions if robot.text is not None else {}
        replied = extras.get("repliedMsg") if extras.get("isReplyMsg") else None
        return (
            isinstance(replied, dict)
            and bool(robot.chatbot_user_id)
            and replied.get("senderId") == robot.chatbot_user_id
        )

    # ------------------------------------------------------------------ receiving (Stream)
    def stream_handler(self, accept: Accept) -> ChatbotHandler:
        """The SDK callback handler for robot messages: parse, hand to the group layer, ack."""
        return _RobotHandler(self, accept)

    async def run(self, accept: Accept) -> None:
        """One Stream connection: open a ticket, read frames until DingTalk closes it.

        The SDK's own ``start()`` loops forever (and swallows cancellation), so the connection
        loop is ours — the gateway reconnects with backoff — while framing, routing and acks
        are the SDK's (``route_message`` and the registered :class:`ChatbotHandler`).
        """
        client = DingTalkStreamClient(
            Credential(self.settings.app_key, self.settings.app_secret), logger=sdk_log
        )
        client.register_callback_handler(ChatbotMessage.TOPIC, self.stream_handler(accept))
        client.pre_start()
        ticket = await self._open_stream()
        uri = f"{ticket['endpoint']}?ticket={quote_plus(str(ticket['ticket']))}"
        async with websockets.connect(uri, ping_interval=60) as socket:
            client.websocket = socket
            log.info("dingtalk stream connected", extra={"platform": PLATFORM})
            async for raw in socket:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    log.warning("dingtalk stream frame is not JSON", extra={"platform": PLATFORM})
                    continue
                # One frame at a time keeps each shopper's messages in order.
                if await client.route_message(frame) == DingTalkStreamClient.TAG_DISCONNECT:
                    await socket.close()
        log.info("dingtalk stream closed", extra={"platform": PLATFORM})

    async def _open_stream(self) -> dict[str, Any]:
        """Ask the Stream gateway for an endpoint and a one-time ticket."""
        body = {
            "clientId": self.settings.app_key,
            "clientSecret": self.settings.app_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": ChatbotMessage.TOPIC}],
            "ua": f"siyu-assistant dingtalk-sdk-python/v{VERSION_STRING} "
            f"Python/{platform.python_version()}",
            "localIp": "",
        }
        try:
            answer = await self._api.request("POST", STREAM_OPEN_PATH, json_body=body)
        except DeliveryFailed as failure:
            raise ConnectionError(f"stream gateway refused: {failure.reason}") from failure
        if not isinstance(answer, dict) or not answer.get("endpoint") or not answer.get("ticket"):
            raise ConnectionError(f"stream gateway answer without endpoint/ticket: {answer!r}")
        return answer

    # ------------------------------------------------------------------ sending
    def can_reach_privately(self, message: IncomingMessage) -> bool:
        """Only members of the organisation (with a staff id) can get a robot's private
        message; external contacts in 外部群 are asked to message privately instead."""
        return bool(message.context.get("staff_id"))

    async def send(self, reply: OutgoingReply) -> None:
        """Session webhook when it is still valid (not for private replies from a group),
        else the robot OpenAPI."""
        if not reply.private and await self._send_by_session(reply):
            return
        if reply.private or reply.chat_type == "private":
            await self._send_private(reply)
        else:
            await self._send_group(reply)

    def _session_url(self, reply: OutgoingReply) -> str:
        url = str(reply.context.get("session_webhook") or "")
        expires = int(reply.context.get("session_webhook_expires_ms") or 0)
        if not url or expires < time.time() * 1000 + SESSION_MARGIN_MS:
            return ""
        if _origin(url) != self._session_origin:
            # Only ever post where DingTalk's own API lives, whatever a payload says.
            log.warning(
                "session webhook on an unexpected host; using the robot API",
                extra={"platform": PLATFORM, "host": urlsplit(url).netloc},
            )
            return ""
        return url

    async def _send_by_session(self, reply: OutgoingReply) -> bool:
        """True when sent; False when the session cannot be used (then the OpenAPI is)."""
        url = self._session_url(reply)
        if not url:
            return False
        staff_id = str(reply.context.get("staff_id") or "")
        body: dict[str, Any] = {"msgtype": "text", "text": {"content": reply.text}}
        if reply.mention and reply.chat_type == "group":
            if staff_id:
                # DingTalk renders "@<userid>" in the text as the shopper's name, and only
                # when the same userid is listed in atUserIds.
                body["text"]["content"] = f"@{staff_id} {reply.text}"
                body["at"] = {"atUserIds": [staff_id], "isAtAll": False}
            else:
                body["text"]["content"] = f"@{reply.to_user_name} {reply.text}"
        answer = await self._api.request("POST", url, json_body=body)
        errcode = int((answer or {}).get("errcode", 0)) if isinstance(answer, dict) else 0
        if errcode == 0:
            self._log_sent(reply, "session_webhook")
            return True
        if errcode in THROTTLED_ERRCODES:
            raise DeliveryFailed(f"session webhook throttled: {answer}", retryable=True)
        log.warning(
            "session webhook refused; using the robot API",
            extra={"platform": PLATFORM, "errcode": errcode, "errmsg": answer.get("errmsg")},
        )
        return False

    async def _send_group(self, reply: OutgoingReply) -> None:
        text = reply.text
        if reply.mention:
            # The OpenAPI's text template has no @ field: the name is written out instead.
            text = f"@{reply.to_user_name} {text}"
        body = {
            "robotCode": self._robot_code(reply),
            "openConversationId": reply.chat_id,
            "msgKey": "sampleText",
            "msgParam": json.dumps({"content": text}, ensure_ascii=False),
        }
        await self._call(GROUP_SEND_PATH, body)
        self._log_sent(reply, "group_api")

    async def _send_private(self, reply: OutgoingReply) -> None:
        user_id = str(reply.context.get("staff_id") or "")
        if not user_id:
            # Only members of the robot's own organisation have a userid it can message.
            raise DeliveryFailed(
                "private reply impossible: sender has no staff userid (external user?)",
                retryable=False,
            )
        body = {
            "robotCode": self._robot_code(reply),
            "userIds": [user_id],
            "msgKey": "sampleText",
            "msgParam": json.dumps({"content": reply.text}, ensure_ascii=False),
        }
        answer = await self._call(PRIVATE_SEND_PATH, body)
        if isinstance(answer, dict):
            if user_id in (answer.get("flowControlledStaffIdList") or []):
                raise DeliveryFailed("private send flow-controlled", retryable=True)
            if user_id in (answer.get("invalidStaffIdList") or []):
                raise DeliveryFailed(
                    f"userid {user_id} not reachable by the robot", retryable=False
                )
        self._log_sent(reply, "private_api")

    def _robot_code(self, reply: OutgoingReply) -> str:
        return str(reply.context.get("robot_code") or self.robot_code)

    async def _call(self, path: str, body: dict[str, Any]) -> Any:
        """POST to the OpenAPI with the access token; a rejected token is refetched once."""
        token = await self.token.get()
        try:
            return await self._api.request("POST", path, json_body=body, headers=_auth(token))
        except DeliveryFailed as failure:
            if not _token_rejected(failure):
                raise
            log.warning("dingtalk access token rejected; refreshing", extra={"platform": PLATFORM})
            self.token.invalidate(token)
            token = await self.token.get()
            return await self._api.request("POST", path, json_body=body, headers=_auth(token))

    async def _fetch_token(self) -> tuple[str, float]:
        answer = await self._api.request(
            "POST",
            TOKEN_PATH,
            json_body={"appKey": self.settings.app_key, "appSecret": self.settings.app_secret},
        )
        if not isinstance(answer, dict) or not answer.get("accessToken"):
            raise DeliveryFailed(f"no accessToken in answer: {answer!r}", retryable=False)
        return str(answer["accessToken"]), float(answer.get("expireIn") or 7200)

    @staticmethod
    def _log_sent(reply: OutgoingReply, route: str) -> None:
        log.info(
            "dingtalk reply sent",
            extra={"platform": PLATFORM, "conversation_id": reply.conversation_id, "route": route},
        )

    async def close(self) -> None:
        await self._api.close()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dingtalk_mode": self.settings.mode}


def _auth(token: str) -> dict[str, str]:
    return {"x-acs-dingtalk-access-token": token}


class _RobotHandler(ChatbotHandler):
    """Stream-mode robot messages: the same parsing as HTTP, acked once stored."""

    def __init__(self, connector: DingTalkConnector, accept: Accept) -> None:
        super().__init__()
        self.connector = connector
        self.accept = accept

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        try:
            message = self.connector.parse(callback.data)
        except BadPayload as bad:
            # Acknowledged anyway: a redelivery of a malformed message would fail the same way.
            log.warning(
                "dingtalk stream message rejected",
                extra={"platform": PLATFORM, "reason": bad.reason},
            )
            return AckMessage.STATUS_OK, "ignored"
        if message is None:
            return AckMessage.STATUS_OK, "ignored"
        try:
            await self.accept(message)  # stored before DingTalk gets its ack
        except Exception as error:  # noqa: BLE001 - not acked OK, so DingTalk delivers it again
            log.exception(
                "dingtalk stream message not stored",
                extra={"platform": PLATFORM, "error": str(error)},
            )
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "not stored"
        return AckMessage.STATUS_OK, "OK"
