"""Calling a platform's HTTP API: one pooled session, timeouts, errors that say retry or not,
and cached access tokens that refresh themselves."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from assistant.connectors.base import DeliveryFailed

__all__ = ["AccessToken", "PlatformHTTP", "retry_after_seconds"]

log = logging.getLogger("assistant.connectors")

# A shopper's image is at most this large (the ticket store keeps up to 10 MB; a little slack
# so its own, clearer size message is the one shoppers see).
MAX_DOWNLOAD_BYTES = 12 * 1024 * 1024


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (HTTP dates are rare on chat APIs: ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class PlatformHTTP:
    """A platform's API at ``api_base``: JSON in, JSON out, failures as :class:`DeliveryFailed`.

    5xx, 429, timeouts and connection errors are retryable; other 4xx are not. The session is
    created lazily, inside the running event loop.
    """

    def __init__(self, api_base: str, *, timeout_seconds: float = 10.0) -> None:
        self.api_base = api_base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.api_base}{path}"

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Call the API and return its decoded JSON body (``None`` for an empty one)."""
        url = self.url(path)
        try:
            session = await self.session()
            async with session.request(
                method, url, json=json_body, data=data, params=params, headers=headers
            ) as response:
                body = await response.read()
                if response.status == 429 or response.status >= 500:
                    raise DeliveryFailed(
                        f"{method} {path}: HTTP {response.status} {body[:200]!r}",
                        retryable=True,
                        retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                        status=response.status,
                        body=body,
                    )
                if response.status >= 400:
                    raise DeliveryFailed(
                        f"{method} {path}: HTTP {response.status} {body[:200]!r}",
                        retryable=False,
                        status=response.status,
                        body=body,
                    )
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise DeliveryFailed(
                f"{method} {path}: {type(error).__name__} {error}", retryable=True
            ) from error
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError as error:
            raise DeliveryFailed(f"{method} {path}: answer is not JSON", retryable=False) from error

    async def download(
        self,
        path: str,
        *,
        method: str = "GET",
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
    ) -> tuple[bytes, str]:
        """Fetch a file a shopper sent (an image): its bytes and the content type the platform
        gave. Failures are :class:`DeliveryFailed` as for :meth:`request`; a file larger than
        ``max_bytes`` is refused without reading the rest."""
        url = self.url(path)
        try:
            session = await self.session()
            async with session.request(method, url, params=params, headers=headers) as response:
                if response.status >= 400:
                    body = await response.read()
                    raise DeliveryFailed(
                        f"{method} {path}: HTTP {response.status} {body[:200]!r}",
                        retryable=response.status == 429 or response.status >= 500,
                        status=response.status,
                        body=body,
                    )
                data = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data.extend(chunk)
                    if len(data) > max_bytes:
                        raise DeliveryFailed(
                            f"{method} {path}: file larger than {max_bytes} bytes", retryable=False
                        )
                return bytes(data), response.headers.get("Content-Type", "")
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise DeliveryFailed(
                f"{method} {path}: {type(error).__name__} {error}", retryable=True
            ) from error

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class AccessToken:
    """A platform access token, fetched on first use and again shortly before it expires.

    ``fetch`` returns ``(token, lifetime_seconds)``. Concurrent callers share one fetch.
    ``invalidate()`` is for an API answer that says the token expired early.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        *,
        margin_seconds: float = 300.0,
    ) -> None:
        self._fetch = fetch
        self._margin = margin_seconds
        self._token = ""
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def get(self) -> str:
        if self._token and time.monotonic() < self._expires:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._expires:
                return self._token
            token, lifetime = await self._fetch()
            self.fetches += 1
            self._token = token
            self._expires = time.monotonic() + max(1.0, float(lifetime) - self._margin)
            log.info("access token refreshed", extra={"lifetime_s": lifetime})
            return token

    def invalidate(self, token: str | None = None) -> None:
        """Forget the token (only if it is still ``token``, when given: another refresh won)."""
        if token is None or token == self._token:
            self._token = ""
            self._expires = 0.0
