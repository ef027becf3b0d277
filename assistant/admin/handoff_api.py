"""Admin API for hand-offs: the staff inbox of shoppers waiting for a person, one conversation
with the shopper's profile, replying in the group (@) or privately, and closing.

Viewers read; editors claim, reply and close. The app installs the staff desk with
:func:`install`; the routes register with the other admin routes when this module is imported.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from assistant.admin.api import _body, _ok, _query, _route, _run, _services
from assistant.admin.auth import principal
from assistant.commerce.models import HandoffRequest
from assistant.config import Settings
from assistant.handoff.conversations import ConversationUnavailable, RasaConversations
from assistant.handoff.desk import ReplyRefused, StaffDesk
from assistant.handoff.escalation import escalate_forever
from assistant.handoff.service import HandoffClosed, HandoffService, UnknownHandoff
from assistant.http_errors import error

DESK = web.AppKey("handoff_desk", StaffDesk)


# --------------------------------------------------------------------------- shapes


class HandoffOut(BaseModel):
    """One hand-off as the console lists it."""

    id: int
    conversation_id: str
    platform: str
    chat_id: str
    user_id: str
    user_name: str
    chat_type: str
    person_id: str = Field(description="the shopper across groups: platform:user_id")
    language: str
    reason: str = Field(
        description="shopper_request, offer_accepted, repeated_failure, low_confidence or anger"
    )
    text: str = Field(description="what the shopper said when the hand-off started")
    status: str = Field(description="open until closed")
    stage: str = Field(description="open, claimed, answered or closed")
    created_at: datetime
    waiting_seconds: float = Field(description="until the first staff reply, or until now")
    escalated: bool
    escalated_at: datetime | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None


class HandoffQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closed: int = Field(default=20, ge=0, le=200, description="recently closed ones to include")


class HandoffList(BaseModel):
    items: list[HandoffOut] = Field(
        description="open first (escalated, longest waiting), then closed"
    )
    open: int
    escalated: int
    escalate_after_seconds: float


class LineOut(BaseModel):
    speaker: str = Field(description="shopper, assistant or staff")
    text: str
    time: datetime | None = None
    staff: str | None = None


class HandoffDetail(BaseModel):
    handoff: HandoffOut
    transcript: list[LineOut]
    transcript_error: str | None = Field(
        default=None, description="why the conversation could not be read (Rasa unreachable)"
    )
    profile: dict[str, Any] | None = Field(
        default=None, description="the shopper's profile summary, when a profile service runs"
    )


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)
    private: bool = Field(
        default=False, description="true: to the shopper privately; false: in the group, with @"
    )


class ReplyOut(BaseModel):
    handoff: HandoffOut
    text: str = Field(description="what the shopper received (after the compliance guard)")
    private: bool
    delivered: bool = Field(description="false when the platform refused it after every retry")
    changed_by_guard: bool


# --------------------------------------------------------------------------- plumbing


def _desk(request: web.Request) -> StaffDesk:
    return request.app[DESK]


def _out(service: HandoffService, handoff: HandoffRequest) -> HandoffOut:
    return HandoffOut(
        **dataclasses.asdict(handoff),
        person_id=f"{handoff.platform}:{handoff.user_id}",
        stage=handoff.stage,
        waiting_seconds=round(service.waiting_seconds(handoff), 1),
        escalated=handoff.escalated,
    )


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _acting(work: Any) -> web.Response:
    """Run a desk action, turning its refusals into answers staff can act on."""
    try:
        return await work
    except UnknownHandoff as missing:
        return error(404, str(missing))
    except HandoffClosed as closed:
        return error(409, str(closed))
    except ReplyRefused as refused:
        return error(422, str(refused), rules=refused.rules)
    except ConversationUnavailable as down:
        return error(503, f"the conversation could not be updated: {down}")


def _profile(request: web.Request, handoff: HandoffRequest) -> dict[str, Any] | None:
    # The profile service is optional (assistant.profiles); without it the console shows none.
    profiles = getattr(_services(request), "profiles", None)
    if not profiles:
        return None
    return profiles.summary(f"{handoff.platform}:{handoff.user_id}")


# --------------------------------------------------------------------------- routes


@_route(
    "GET",
    "/api/admin/handoffs",
    summary="Shoppers waiting for a person",
    description="Open hand-offs first (escalated, then longest waiting) with their waiting "
    "time, then the most recently closed.",
    tag="handoffs",
    role="viewer",
    query=HandoffQuery,
    response=HandoffList,
)
async def list_handoffs(request: web.Request) -> web.Response:
    query = _query(request, HandoffQuery)
    service = _desk(request).service
    items = await _run(lambda: service.queue(closed=query.closed))
    waiting = [h for h in items if h.status == "open"]
    return _ok(
        HandoffList(
            items=[_out(service, h) for h in items],
            open=len(waiting),
            escalated=sum(h.escalated for h in waiting),
            escalate_after_seconds=service.escalate_after.total_seconds(),
        )
    )


@_route(
    "GET",
    r"/api/admin/handoffs/{id:\d+}",
    summary="One hand-off with its conversation",
    description="The conversation so far (shopper, assistant and staff lines, from Rasa) and "
    "the shopper's profile when a profile service runs.",
    tag="handoffs",
    role="viewer",
    response=HandoffDetail,
    errors=(404,),
    path_types={"id": "integer"},
)
async def get_handoff(request: web.Request) -> web.Response:
    desk = _desk(request)

    async def detail() -> web.Response:
        handoff = await _run(desk.service.get, _id(request))
        lines, problem = [], None
        try:
            lines = await desk.conversations.lines(handoff.conversation_id)
        except ConversationUnavailable as down:
            problem = str(down)
        return _ok(
            HandoffDetail(
                handoff=_out(desk.service, handoff),
                transcript=[LineOut(**vars(line)) for line in lines],
                transcript_error=problem,
                profile=await _run(_profile, request, handoff),
            )
        )

    return await _acting(detail())


@_route(
    "POST",
    r"/api/admin/handoffs/{id:\d+}/claim",
    summary="Take a hand-off",
    tag="handoffs",
    role="editor",
    response=HandoffOut,
    errors=(404, 409),
    path_types={"id": "integer"},
)
async def claim_handoff(request: web.Request) -> web.Response:
    service = _desk(request).service

    async def claim() -> web.Response:
        return _ok(_out(service, await _run(service.claim, _id(request), principal(request).name)))

    return await _acting(claim())


@_route(
    "POST",
    r"/api/admin/handoffs/{id:\d+}/reply",
    summary="Reply to the shopper",
    description="Sent through the shopper's platform: in the group with an @-mention, or "
    "privately. The compliance guard checks it first (blocked: 422, nothing sent); it is added "
    "to the conversation, and the first reply stops the waiting time.",
    tag="handoffs",
    role="editor",
    body=ReplyIn,
    response=ReplyOut,
    errors=(404, 409, 503),
    path_types={"id": "integer"},
)
async def reply_handoff(request: web.Request) -> web.Response:
    body = await _body(request, ReplyIn)
    desk = _desk(request)

    async def reply() -> web.Response:
        sent = await desk.reply(
            _id(request), body.text, private=body.private, actor=principal(request).name
        )
        return _ok(
            ReplyOut(
                handoff=_out(desk.service, sent.handoff),
                text=sent.text,
                private=sent.private,
                delivered=sent.delivered,
                changed_by_guard=sent.changed_by_guard,
            )
        )

    return await _acting(reply())


@_route(
    "POST",
    r"/api/admin/handoffs/{id:\d+}/close",
    summary="Close a hand-off",
    description="The assistant answers the shopper again (Rasa `resume`), and the shopper is "
    "told in their language.",
    tag="handoffs",
    role="editor",
    response=HandoffOut,
    errors=(404, 409, 503),
    path_types={"id": "integer"},
)
async def close_handoff(request: web.Request) -> web.Response:
    desk = _desk(request)

    async def close() -> web.Response:
        closed = await desk.close(_id(request), actor=principal(request).name)
        return _ok(_out(desk.service, closed))

    return await _acting(close())


# --------------------------------------------------------------------------- wiring


def install(
    app: web.Application,
    settings: Settings,
    store: Any,
    chat: Any,
) -> StaffDesk:
    """Put the staff desk on ``app`` and check for overdue hand-offs while it runs."""
    service = HandoffService(
        store, escalate_after=timedelta(minutes=settings.handoff.escalate_after_minutes)
    )
    conversations = RasaConversations(
        settings.rasa.url, timeout_seconds=settings.rasa.timeout_seconds
    )
    desk = StaffDesk(service, conversations, chat)
    app[DESK] = desk

    async def escalation(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(
            escalate_forever(
                service,
                settings.handoff.escalation_webhook,
                every_seconds=settings.handoff.check_seconds,
            )
        )
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(escalation)
    return desk
