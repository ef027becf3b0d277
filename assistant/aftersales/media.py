"""Fetching the bytes of a shopper's image from the platform it was sent on.

Connectors parse an image message into an attachment (``{"kind": "image", "ref": ...}``, the
platform's media reference); the app registers each connector's ``fetch_media`` here, and the
photo action fetches through this registry without knowing any platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Fetch = Callable[[Mapping[str, Any]], Awaitable[bytes]]


class MediaUnavailable(Exception):
    """The image could not be fetched (platform not connected, link expired, API error)."""


class MediaFetchers:
    """Platform name -> the connector's ``fetch_media``."""

    def __init__(self) -> None:
        self._fetchers: dict[str, Fetch] = {}

    def register(self, platform: str, fetch: Fetch) -> None:
        self._fetchers[platform] = fetch

    def register_connectors(self, connectors: Mapping[str, Any]) -> None:
        """Every connector that can fetch media (all built-in ones can)."""
        for name, connector in connectors.items():
            fetch = getattr(connector, "fetch_media", None)
            if fetch is not None:
                self.register(name, fetch)

    async def fetch(self, platform: str, attachment: Mapping[str, Any]) -> bytes:
        """The attachment's bytes; :class:`MediaUnavailable` with the reason otherwise."""
        fetch = self._fetchers.get(platform)
        if fetch is None:
            raise MediaUnavailable(f"no connector fetches media for {platform!r}")
        try:
            return await fetch(attachment)
        except MediaUnavailable:
            raise
        except Exception as error:  # noqa: BLE001 - any platform failure means "ask again"
            raise MediaUnavailable(f"{platform}: {type(error).__name__}: {error}") from error


# The app's registry: connectors are registered when the app starts.
media_fetchers = MediaFetchers()
