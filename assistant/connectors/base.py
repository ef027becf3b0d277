"""What a platform connector is: verify and parse what a platform sends, send what we answer.

A new platform is one module with one :class:`Connector` subclass. Everything else a message
goes through — dedup, addressing, rate limits, per-shopper context, privacy routing, retries of
outgoing sends, the record of undelivered replies — is shared code in
:mod:`assistant.groupchat` and :mod:`assistant.connectors.delivery` that a connector never
repeats.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from assistant.messages import IncomingMessage, OutgoingReply

__all__ = [
    "Accept",
    "BadPayload",
    "BadSignature",
    "Connector",
    "ConnectorSettings",
    "DeliveryFailed",
    "Inbound",
    "RequestRejected",
    "StaleRequest",
]

# The group layer's entry point: stores the message (before the platform is acknowledged) and
# answers it in the background. False: not for the assistant, a duplicate, or rate limited.
Accept = Callable[[IncomingMessage], Awaitable[bool]]


class RequestRejected(Exception):
    """A request the platform (or someone pretending to be it) sent that we refuse.

    ``status`` is the HTTP status answered; ``reason`` goes to the log, never to Rasa.
    """

    status: ClassVar[int] = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadSignature(RequestRejected):
    """Signature, token or secret header does not match."""

    status = 401


class StaleRequest(RequestRejected):
    """Timestamp outside the accepted window, or a nonce seen before (a replay)."""

    status = 401


def check_fresh(sent_seconds: float, window_seconds: float, now: float | None = None) -> None:
    """Refuse a request signed further than ``window_seconds`` from our clock (a replay, or a
    retry of something long gone). Each connector parses its platform's timestamp itself."""
    skew = abs((time.time() if now is None else now) - sent_seconds)
    if skew > window_seconds:
        raise StaleRequest(
            f"timestamp {skew:.0f}s away from our clock (limit {window_seconds:.0f}s)"
        )


class BadPayload(RequestRejected):
    """Malformed body, or a body that does not decrypt."""

    status = 400


class DeliveryFailed(Exception):
    """An outgoing send did not go through.

    ``retryable``: a timeout, a 5xx, a 429 or an expired access token (the connector refreshes
    it before raising); ``retry_after``: seconds the platform asked us to wait.
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status  # the platform's HTTP status, when it answered at all
        self.body = body


@dataclass
class Inbound:
    """What a webhook request carried: shopper messages, and the body the platform expects.

    ``response`` is the handshake or acknowledgement (a URL-verification echo, Feishu's
    challenge, ``"success"``); ``None`` answers ``200 {"ok": true}``.
    """

    messages: list[IncomingMessage] = field(default_factory=list)
    response: web.StreamResponse | None = None


class ConnectorSettings(BaseModel):
    """Settings every platform has; each connector extends this with its credentials.

    Secrets are written as ``${ENV_VAR}`` in ``assistant.yml`` and read from the environment.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # The platform's API root; tests point it at a local fake platform server.
    api_base: str = ""
    # How the assistant is called in groups (the @-name shoppers type).
    bot_name: str = ""
    # Seconds an outgoing send may take before it is retried.
    timeout_seconds: float = 10.0


class Connector(abc.ABC):
    """One messaging platform.

    Webhook platforms implement :meth:`receive`; long-connection platforms (Feishu, DingTalk
    Stream, Telegram polling) implement :meth:`run` as well. Both hand every parsed message to
    the group layer's ``accept`` — directly in :meth:`run`, through :class:`Inbound` in
    :meth:`receive`.
    """

    #: Platform id, used in conversation ids (``platform:chat:user``) and URLs.
    name: ClassVar[str]
    #: Can this platform deliver a message to one shopper privately?
    supports_private: ClassVar[bool] = True
    #: The settings model ``assistant.yml``'s ``connectors.<name>`` section is validated by.
    settings_model: ClassVar[type[ConnectorSettings]] = ConnectorSettings

    def __init__(self, settings: ConnectorSettings) -> None:
        self.settings = settings

    @property
    def webhook_path(self) -> str:
        """Where the platform posts (``/webhooks/<name>``)."""
        return f"/webhooks/{self.name}"

    @property
    def long_connection(self) -> bool:
        """True when this connector receives over a connection it opens (no public URL)."""
        return False

    async def receive(self, request: web.Request) -> Inbound:
        """Verify and parse one webhook request; raise :class:`RequestRejected` to refuse it.

        Unknown event types are not errors: return an empty :class:`Inbound` (the platform
        would otherwise retry them forever).
        """
        raise web.HTTPNotFound(text=f"{self.name} receives over a long connection")

    async def run(self, accept: Accept) -> None:
        """Receive over a long connection until cancelled (only when :attr:`long_connection`)."""
        raise NotImplementedError

    @abc.abstractmethod
    async def send(self, reply: OutgoingReply) -> None:
        """Deliver one reply; raise :class:`DeliveryFailed` when it did not go through.

        Group replies carry ``reply.mention``: render the platform's @-mention of
        ``reply.to_user``. ``reply.private`` replies go to the shopper alone.
        """

    def can_reach_privately(self, message: IncomingMessage) -> bool:
        """Can a private reply reach this shopper? Default: :attr:`supports_private`; a
        platform that can only message some shoppers (DingTalk: members of the organisation)
        says so per message, and the group layer asks the others to message privately."""
        return self.supports_private

    async def private_failed_note(self, reply: OutgoingReply, language: str) -> str:
        """Said in the group instead of "sent you privately" when the private reply could not
        be delivered (the shopper never opened a chat with the bot, blocked it...)."""
        from assistant.texts import text

        return text("private_failed", language)  # type: ignore[arg-type]

    def combine(self, replies: list[OutgoingReply]) -> list[OutgoingReply]:
        """The replies to one message as this platform should send them. Default: one send
        each; a platform whose reply handle works once (WeCom AI bot's ``response_url``)
        merges them."""
        return replies

    async def close(self) -> None:  # noqa: B027 - optional hook, most connectors need it
        """Release HTTP sessions and connections."""

    def describe(self) -> dict[str, Any]:
        """What the app logs at start-up (never secrets)."""
        return {
            "platform": self.name,
            "mode": "long connection" if self.long_connection else "webhook",
            "path": None if self.long_connection else self.webhook_path,
        }
