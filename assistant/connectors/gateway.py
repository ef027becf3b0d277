"""Webhook routes and long-connection runners for every enabled connector."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import suppress
from typing import Any

from aiohttp import web

from assistant.connectors.base import Connector, RequestRejected
from assistant.groupchat.pipeline import GroupChat

__all__ = ["connector_lifecycle", "webhook_routes"]

log = logging.getLogger("assistant.connectors")


def webhook_routes(connectors: Mapping[str, Connector], chat: GroupChat) -> list[web.RouteDef]:
    """``/webhooks/<platform>`` for each webhook connector (any method: some verify by GET)."""
    return [
        web.route("*", connector.webhook_path, _handler(connector, chat))
        for connector in connectors.values()
        if not connector.long_connection
    ]


def _handler(connector: Connector, chat: GroupChat) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            inbound = await connector.receive(request)
        except RequestRejected as rejected:
            log.warning(
                "webhook request rejected",
                extra={
                    "platform": connector.name,
                    "status": rejected.status,
                    "reason": rejected.reason,
                    "remote": request.remote,
                },
            )
            return web.json_response({"error": rejected.reason}, status=rejected.status)
        for message in inbound.messages:
            await chat.accept(message)  # stored before the platform is acknowledged
        return inbound.response or web.json_response({"ok": True})

    return handle


async def _run_forever(connector: Connector, chat: GroupChat) -> None:
    """Keep a long connection up; reconnect with backoff when it drops."""
    delay = 1.0
    while True:
        try:
            await connector.run(chat.accept)
            delay = 1.0
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the platform dropped us; try again
            log.warning(
                "long connection lost, reconnecting",
                extra={"platform": connector.name, "error": str(error), "wait_s": delay},
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 60.0)


def connector_lifecycle(connectors: Mapping[str, Connector], chat: GroupChat) -> Any:
    """aiohttp cleanup context: answer kept messages, run long connections, close on stop."""

    async def context(_: web.Application) -> AsyncIterator[None]:
        for connector in connectors.values():
            log.info("connector ready", extra=connector.describe())
        await chat.start()
        tasks = [
            asyncio.create_task(_run_forever(c, chat))
            for c in connectors.values()
            if c.long_connection
        ]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
        await chat.stop()
        for connector in connectors.values():
            await connector.close()

    return context
