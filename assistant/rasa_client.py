"""Client for the Rasa server's gateway channel: send one shopper message, get Rasa's replies."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    """Rasa did not answer (down, starting, overloaded or erroring)."""


class RasaClient:
    """Posts to ``/webhooks/gateway/webhook`` over one pooled HTTP session."""

    def __init__(self, base_url: str, *, timeout_seconds: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=64)
            )
        return self._session

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Hand one message to Rasa and return its bot messages (``text``, ``custom``…)."""
        payload = {"sender": conversation_id, "message": text, "metadata": metadata}
        url = f"{self.base_url}/webhooks/gateway/webhook"
        try:
            session = await self._http()
            async with session.post(url, json=payload) as response:
                if response.status != 200:
                    body = await response.text()
                    raise RasaUnavailable(f"Rasa answered HTTP {response.status}: {body[:200]}")
                replies = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise RasaUnavailable(f"Rasa at {self.base_url} is not reachable: {error}") from error
        if not isinstance(replies, list):
            raise RasaUnavailable("Rasa answered something that is not a list of messages")
        return [r for r in replies if isinstance(r, dict)]

    async def is_ready(self) -> bool:
        """True when Rasa is up with a model loaded."""
        try:
            session = await self._http()
            async with session.get(f"{self.base_url}/status") as response:
                if response.status != 200:
                    return False
                status = await response.json()
                return bool(status.get("model_file"))
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
