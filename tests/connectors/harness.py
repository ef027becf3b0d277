"""A local fake platform server and the real group layer + Rasa, for connector tests.

Each platform test: build requests the way the platform does, post them to the connector's
webhook route, and check what arrives at :class:`FakePlatform` (the connector's ``api_base``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from assistant.config import ChatSettings
from assistant.connectors.base import Connector
from assistant.connectors.delivery import Delivery, RetryPolicy
from assistant.connectors.gateway import webhook_routes
from assistant.groupchat.inbox import MessageInbox
from assistant.groupchat.pipeline import ChatRules, GroupChat
from assistant.messages import IncomingMessage
from assistant.rasa_client import RasaClient

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Call:
    """One request the connector made to the platform's API."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakePlatform:
    """An aiohttp server standing in for a platform's API; records every call.

    ``route(method, path, handler)`` sets what it answers; ``fail(path, status, times)`` makes
    the next ``times`` calls to ``path`` answer ``status`` (5xx/429 retries, token expiry).
    """

    calls: list[Call] = field(default_factory=list)
    _routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    _failures: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    server: TestServer | None = None

    def route(self, method: str, path: str, handler: Handler | Any) -> None:
        """Answer ``method path`` with ``handler`` (a coroutine function or a JSON value)."""
        if not callable(handler):
            value = handler

            async def fixed(_: web.Request) -> web.StreamResponse:
                return web.json_response(value)

            handler = fixed
        self._routes[(method.upper(), path)] = handler

    def fail(self, path: str, status: int, times: int = 1, body: Any = None) -> None:
        self._failures.setdefault(path, []).extend([(status, body)] * times)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.server = TestServer(app)
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.calls.append(
            Call(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        failures = self._failures.get(request.path)
        if failures:
            status, payload = failures.pop(0)
            return web.json_response(payload or {"error": "injected"}, status=status)
        handler = self._routes.get((request.method, request.path))
        if handler is None:
            return web.json_response({"error": f"no fake route {request.path}"}, status=404)
        return await handler(request)

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    async def wait_for(self, path: str, count: int = 1, timeout: float = 30.0) -> list[Call]:
        """Wait until ``path`` was called ``count`` times; return those calls."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.calls_to(path)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"{path} called {len(self.calls_to(path))} times, expected {count}; "
                    f"calls: {[c.path for c in self.calls]}"
                )
            await asyncio.sleep(0.02)
        return self.calls_to(path)


class Rig:
    """A connector behind the real group layer and the session's real Rasa."""

    def __init__(
        self, connector: Connector, rasa_url: str, data_dir: Path, chat: ChatSettings | None = None
    ) -> None:
        self.connector = connector
        self.rasa_url = rasa_url
        self.inbox_url = f"sqlite:///{data_dir / 'inbox.db'}"
        self.chat_settings = chat or ChatSettings()
        self.client: TestClient | None = None
        self.chat = self._group_chat()

    def _group_chat(self) -> GroupChat:
        settings = self.chat_settings
        rules = ChatRules(
            assistant_names=(settings.assistant_name, "assistant"),
            keywords=tuple(settings.keywords),
            groups=settings.groups,
            rate_limits=settings.rate_limits,
        )
        inbox = MessageInbox(self.inbox_url)
        delivery = Delivery(inbox.engine, RetryPolicy(attempts=4, base_seconds=0.01))
        return GroupChat(
            RasaClient(self.rasa_url, timeout_seconds=60),
            inbox,
            rules,
            connectors={self.connector.name: self.connector},
            delivery=delivery,
        )

    async def start(self) -> TestClient:
        app = web.Application()
        # Routes reach whichever group layer is current, so posts after restart() work too.
        current = SimpleNamespace(accept=lambda message: self.chat.accept(message))
        app.add_routes(webhook_routes({self.connector.name: self.connector}, current))  # type: ignore[arg-type]
        self.client = TestClient(TestServer(app))
        await self.client.start_server()
        await self.chat.start()
        return self.client

    async def restart(self) -> int:
        """Stop work in progress (messages stay stored), then start a fresh group layer on the
        same inbox, as a restarted app would; returns how many kept messages it picked up."""
        await self.chat.stop()
        await self.chat.rasa.close()
        self.chat = self._group_chat()
        return await self.chat.start()

    async def drain(self, timeout: float = 60.0) -> None:
        await self.chat.drain(timeout)

    async def close(self) -> None:
        await self.chat.stop()
        await self.chat.rasa.close()
        await self.connector.close()
        if self.client is not None:
            await self.client.close()


class Capture:
    """A connector behind the real webhook route with a group layer that only collects what
    the connector parsed (no Rasa): for what a platform's payload becomes."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self.accepted: list[IncomingMessage] = []
        self.client: TestClient | None = None

    async def start(self) -> TestClient:
        async def accept(message: IncomingMessage) -> bool:
            self.accepted.append(message)
            return True

        app = web.Application()
        app.add_routes(
            webhook_routes({self.connector.name: self.connector}, SimpleNamespace(accept=accept))
        )  # type: ignore[arg-type]
        self.client = TestClient(TestServer(app))
        await self.client.start_server()
        return self.client

    async def close(self) -> None:
        await self.connector.close()
        if self.client is not None:
            await self.client.close()


def serve_bytes(data: bytes, content_type: str = "image/jpeg") -> Handler:
    """A FakePlatform handler answering a media download with ``data``."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(body=data, content_type=content_type)

    return handler
