"""Rasa's HTTP API (``--enable-api``) for one conversation: read it, add staff lines, resume it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import quote

import aiohttp

Speaker = Literal["shopper", "assistant", "staff"]


class ConversationUnavailable(RuntimeError):
    """Rasa could not be asked about the conversation (down, or it refused)."""


@dataclass(frozen=True)
class Line:
    """One message of a conversation as staff read it."""

    speaker: Speaker
    text: str
    time: datetime | None
    staff: str | None = None


def transcript(events: list[dict[str, Any]]) -> list[Line]:
    """The shopper's, the assistant's and staff's messages from Rasa tracker events, in order."""
    lines = []
    for event in events:
        kind, text = event.get("event"), event.get("text")
        if kind not in ("user", "bot") or not text:
            continue
        stamp = event.get("timestamp")
        time = datetime.fromtimestamp(stamp, timezone.utc) if stamp else None
        staff = (event.get("metadata") or {}).get("staff") if kind == "bot" else None
        speaker: Speaker = "shopper" if kind == "user" else "staff" if staff else "assistant"
        lines.append(Line(speaker, str(text), time, staff))
    return lines


class RasaConversations:
    """Reads and writes conversations through Rasa's HTTP API, with a timeout on every call."""

    def __init__(self, base_url: str, *, timeout_seconds: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    def _url(self, conversation_id: str, tail: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/{tail}"

    async def lines(self, conversation_id: str) -> list[Line]:
        """The conversation so far (user and bot messages, staff replies included)."""
        tracker = await self._call("GET", self._url(conversation_id, "tracker"))
        return transcript(tracker.get("events") or [])

    async def add_bot_message(self, conversation_id: str, text: str, staff: str | None) -> None:
        """Keep a message sent outside Rasa (a staff reply when ``staff`` names who) in the
        conversation, so Rasa and later readers see it."""
        event = {"event": "bot", "text": text, "metadata": {"staff": staff} if staff else {}}
        await self._call("POST", self._url(conversation_id, "tracker/events"), event)

    async def resume(self, conversation_id: str) -> None:
        """``ConversationResumed``: the assistant answers this shopper again."""
        await self._call("POST", self._url(conversation_id, "tracker/events"), {"event": "resume"})

    async def _call(self, method: str, url: str, body: Any = None) -> dict[str, Any]:
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.request(method, url, json=body) as response,
            ):
                if response.status != 200:
                    detail = (await response.text())[:200]
                    raise ConversationUnavailable(f"Rasa answered HTTP {response.status}: {detail}")
                answer = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise ConversationUnavailable(
                f"Rasa at {self.base_url} is not reachable: {error}"
            ) from error
        return answer if isinstance(answer, dict) else {}
