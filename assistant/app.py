"""The assistant app: web group chat, Rasa's action endpoint and the knowledge API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from assistant import runtime
from assistant.action_server import ActionEndpoint
from assistant.admin import handoff_api  # its admin routes register on import
from assistant.admin.analytics_api import public_routes as analytics_public_routes
from assistant.admin.analytics_api import store_for as analytics_store
from assistant.admin.api import admin_routes
from assistant.admin.auth import local_token
from assistant.admin.order_events_api import order_event_routes
from assistant.admin.tickets_api import ticket_routes
from assistant.aftersales.media import media_fetchers
from assistant.cli_remote import announce, withdraw
from assistant.commerce.groupbuy_sweeper import sweeper_context
from assistant.compliance.guard import OutgoingGuard
from assistant.config import Settings
from assistant.connectors.delivery import Delivery
from assistant.connectors.gateway import connector_lifecycle, webhook_routes
from assistant.connectors.registry import build_connectors
from assistant.connectors.web import STATIC_DIR, WebConnector
from assistant.console import console_routes
from assistant.groupchat.inbox import MessageInbox
from assistant.groupchat.pipeline import ChatRules, GroupChat
from assistant.http_errors import error, json_errors, json_response, read_json
from assistant.knowledge.watcher import watch_directories
from assistant.rasa_client import RasaClient

logger = logging.getLogger("assistant.app")

SERVICES = web.AppKey("services", runtime.Services)


class KbSearch(BaseModel):
    """Body of ``POST /api/kb/search``."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=100)
    filters: dict[str, Any] | None = None


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    stats = services.knowledge.stats()
    return web.json_response({"status": "ok", "knowledge_records": stats.records})


async def kb_search(request: web.Request) -> web.Response:
    body = await read_json(request, KbSearch)
    knowledge = request.app[SERVICES].knowledge
    try:
        hits = await asyncio.to_thread(knowledge.search, body.query, body.k, body.filters)
    except ValueError as problem:  # an unknown filter name or a wrong filter value
        return error(422, str(problem))
    return json_response(
        {
            "hits": [
                {
                    "id": h.id,
                    "score": h.score,
                    "similarity": h.similarity,
                    "title": h.title,
                    "kind": h.kind,
                    "metadata": h.metadata,
                }
                for h in hits
            ]
        }
    )


def create_app(settings: Settings, services: runtime.Services) -> web.Application:
    """Wire the routes around already-built services (tests build them once per session)."""
    runtime.configure(services)
    app = web.Application(middlewares=[json_errors], client_max_size=1024 * 1024)
    app[SERVICES] = services
    rasa = RasaClient(settings.rasa.url, timeout_seconds=settings.rasa.timeout_seconds)
    inbox = MessageInbox(settings.commerce_url)
    rules = ChatRules(
        assistant_names=(settings.chat.assistant_name, "assistant", "助手", "小助手"),
        keywords=tuple(settings.chat.keywords),
        max_message_chars=settings.chat.max_message_chars,
        groups=settings.chat.groups,
        rate_limits=settings.chat.rate_limits,
        workers=settings.chat.workers,
    )
    connectors = build_connectors(settings)
    chat = GroupChat(
        rasa,
        inbox,
        rules,
        connectors=connectors,
        delivery=Delivery(inbox.engine),
        guard=OutgoingGuard.from_settings(settings),
    )
    chat.analytics = analytics_store(settings)  # staff analytics (assistant.analytics)
    web_chat = WebConnector(chat)
    # The photo action fetches shoppers' images through the connector they came from.
    media_fetchers.register_connectors({**connectors, web_chat.name: web_chat})
    # Replies said outside a shopper's request (staff answers, group-buy outcomes) wait in the
    # web chat's outbox for its page to poll; other platforms push through their connector.
    chat.local_outboxes[web_chat.name] = web_chat.outbox
    handoff_api.install(app, settings, services.commerce, chat)  # staff answer from the console
    app.add_routes([web.get("/healthz", healthz), web.post("/api/kb/search", kb_search)])
    app.add_routes(ActionEndpoint().routes())
    app.add_routes(web_chat.routes())
    app.add_routes(webhook_routes(connectors, chat))
    app.add_routes(admin_routes())
    app.add_routes(ticket_routes())  # after-sales tickets for staff
    app.add_routes(order_event_routes())  # the order system reports paid orders
    app.add_routes(console_routes())
    app.add_routes(analytics_public_routes())  # /go/{token}: tracked product links
    app.router.add_static("/static", STATIC_DIR)

    async def close_rasa(_: web.Application) -> None:
        await rasa.close()

    app.on_cleanup.append(close_rasa)
    app.cleanup_ctx.append(connector_lifecycle(connectors, chat))
    app.cleanup_ctx.append(_knowledge_watcher(settings, services))
    app.cleanup_ctx.append(_announced(settings))
    app.cleanup_ctx.append(sweeper_context(services, chat))  # closes overdue group-buys
    return app


def _knowledge_watcher(settings: Settings, services: runtime.Services) -> Any:
    """Sync knowledge directories on save while the app runs (``knowledge.watch``)."""

    async def context(_: web.Application) -> AsyncIterator[None]:
        task = None
        if settings.knowledge.watch and services.library is not None:
            task = asyncio.create_task(watch_directories(services.library))
        yield
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    return context


def _announced(settings: Settings) -> Any:
    """Tell the CLI where this app listens, so `assistant kb` changes go live through it."""

    async def context(_: web.Application) -> AsyncIterator[None]:
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        local_token(settings)  # the CLI authenticates with it
        announce(settings, f"http://{host}:{settings.port}")
        yield
        withdraw(settings)

    return context
