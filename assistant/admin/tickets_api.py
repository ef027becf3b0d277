"""Admin API for after-sales tickets: list them, show one with its history and photos, move it
through its statuses with a note. Register with ``app.add_routes(ticket_routes())``.

Tickets carry order numbers and shoppers' photos, so every route needs an editor token.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from assistant.admin import openapi
from assistant.admin.api import _body, _ok, _query, _run, _services, _settings
from assistant.admin.auth import principal, requires
from assistant.aftersales.service import aftersales_for
from assistant.aftersales.store import BadTransition, Photo, SqlTickets, Ticket, UnknownTicket
from assistant.http_errors import error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
StatusName = Literal["submitted", "reviewing", "approved", "rejected", "closed"]
TAG = "tickets"

_ROUTES: list[web.RouteDef] = []


def ticket_routes() -> list[web.RouteDef]:
    """Every after-sales ticket route."""
    return list(_ROUTES)


class TicketQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: StatusName | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


class TicketOut(BaseModel):
    ticket_id: str
    order_id: str
    person: str
    conversation_id: str
    kind: str
    reason: str
    status: str
    open: bool
    created_at: datetime
    updated_at: datetime


class TicketList(BaseModel):
    items: list[TicketOut]


class HistoryEntryOut(BaseModel):
    status: str
    actor: str
    note: str
    at: datetime


class PhotoOut(BaseModel):
    photo_id: int
    url: str
    content_type: str
    size: int
    sha256: str
    source: str
    created_at: datetime


class TicketDetail(TicketOut):
    history: list[HistoryEntryOut]
    photos: list[PhotoOut]


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: StatusName
    note: str = Field(default="", max_length=2000)


def _route(
    method: str, path: str, *, summary: str, **documented: Any
) -> Callable[[Handler], Handler]:
    """Register an editor-only, documented handler; unknown tickets answer 404, moves the
    workflow does not allow 409."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def answering(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except UnknownTicket as missing:
                return error(404, str(missing).strip("'\""))
            except BadTransition as refused:
                return error(409, str(refused))

        guarded = requires("editor", _settings)(answering)
        guarded.__openapi__ = openapi.Operation(  # type: ignore[attr-defined]
            summary=summary, tag=TAG, role="editor", **documented
        )
        _ROUTES.append(web.route(method, path, guarded))
        return handler

    return register


def _tickets(request: web.Request) -> SqlTickets:
    return aftersales_for(_services(request)).tickets


def _ticket_out(ticket: Ticket) -> dict[str, Any]:
    return {**ticket.__dict__, "open": ticket.is_open}


def _photo_out(photo: Photo) -> PhotoOut:
    return PhotoOut(
        photo_id=photo.photo_id,
        url=f"/api/admin/tickets/{photo.ticket_id}/photos/{photo.photo_id}",
        content_type=photo.content_type,
        size=photo.size,
        sha256=photo.sha256,
        source=photo.source,
        created_at=photo.created_at,
    )


def _detail(tickets: SqlTickets, ticket_id: str) -> TicketDetail:
    ticket = tickets.get(ticket_id)
    return TicketDetail(
        **_ticket_out(ticket),
        history=[HistoryEntryOut(**entry.__dict__) for entry in tickets.history(ticket_id)],
        photos=[_photo_out(photo) for photo in tickets.photos(ticket_id)],
    )


@_route(
    "GET",
    "/api/admin/tickets",
    summary="After-sales tickets",
    description="Newest first; ?status= shows only tickets in that status.",
    query=TicketQuery,
    response=TicketList,
)
async def list_tickets(request: web.Request) -> web.Response:
    query = _query(request, TicketQuery)
    tickets = _tickets(request)
    found = await _run(
        functools.partial(tickets.list, status=query.status, limit=query.limit, offset=query.offset)
    )
    return _ok(TicketList(items=[TicketOut(**_ticket_out(t)) for t in found]))


@_route(
    "GET",
    "/api/admin/tickets/{ticket_id}",
    summary="One ticket with its history and photos",
    response=TicketDetail,
    errors=(404,),
)
async def show_ticket(request: web.Request) -> web.Response:
    return _ok(await _run(_detail, _tickets(request), request.match_info["ticket_id"]))


@_route(
    "GET",
    r"/api/admin/tickets/{ticket_id}/photos/{photo_id:\d+}",
    summary="A photo of a ticket (the image file)",
    errors=(404,),
    path_types={"photo_id": "integer"},
)
async def ticket_photo(request: web.Request) -> web.StreamResponse:
    tickets = _tickets(request)
    ticket_id, photo_id = request.match_info["ticket_id"], int(request.match_info["photo_id"])
    photos = await _run(tickets.photos, ticket_id)
    photo = next((p for p in photos if p.photo_id == photo_id), None)
    if photo is None or not tickets.photo_path(photo).is_file():
        return error(404, f"ticket {ticket_id} has no photo {photo_id}")
    return web.FileResponse(tickets.photo_path(photo), headers={"Content-Type": photo.content_type})


@_route(
    "POST",
    "/api/admin/tickets/{ticket_id}/status",
    summary="Move a ticket to another status",
    description="submitted → reviewing → approved / rejected → closed (submitted may also be "
    "rejected or closed at once). The note is kept in the history and shown to the shopper "
    "when they ask for the status.",
    body=StatusIn,
    response=TicketDetail,
    errors=(404, 409),
)
async def set_ticket_status(request: web.Request) -> web.Response:
    body = await _body(request, StatusIn)
    tickets = _tickets(request)
    ticket_id = request.match_info["ticket_id"]
    actor = principal(request).name
    await _run(
        functools.partial(tickets.set_status, ticket_id, body.status, actor=actor, note=body.note)
    )
    return _ok(await _run(_detail, tickets, ticket_id))
