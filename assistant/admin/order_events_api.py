"""``POST /api/commerce/order-events``: the brand's order system reports paid orders.

Register with ``app.add_routes(order_event_routes())``. Needs an editor token (the order system
is a trusted writer). Delivering the same event twice, or at the same moment from two workers,
is safe: the referral reward is granted once, and the answer says which delivery granted it.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from assistant.admin import openapi
from assistant.admin.api import _services, _settings
from assistant.admin.auth import requires
from assistant.http_errors import error, json_response, read_json

PATH = "/api/commerce/order-events"


class OrderEventIn(BaseModel):
    """An order event; only ``paid`` is acted on today."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=64)
    event: Literal["paid"]
    # The shopper as the assistant knows them: "platform:user_id" (e.g. "wecom:zhangsan").
    person_id: str = Field(min_length=3, max_length=255, pattern=r"^[^:\s]+:.+$")


class OrderEventOut(BaseModel):
    order_id: str
    person_id: str
    # granted (this delivery granted the referrer's reward), already_granted,
    # not_first_order, not_referred
    referral: str
    referrer_id: str | None = None
    # The reward coupon's code, only on the delivery that granted it.
    reward_coupon: str | None = None


@requires("editor", _settings)
async def order_event(request: web.Request) -> web.Response:
    body = await read_json(request, OrderEventIn)
    desk = _services(request).promotions
    if desk is None:
        return error(503, "promotions are not running in this app")
    outcome = await asyncio.to_thread(desk.order_events().paid, body.order_id, body.person_id)
    answer = OrderEventOut(
        order_id=outcome.order_id,
        person_id=outcome.person_id,
        referral=outcome.referral.value,
        referrer_id=outcome.referrer_id,
        reward_coupon=outcome.reward_coupon.code if outcome.reward_coupon else None,
    )
    return json_response(answer.model_dump())


order_event.__openapi__ = openapi.Operation(  # type: ignore[attr-defined]
    summary="Report an order event (paid)",
    description="Counts the order for the shopper's lifecycle stage and grants the referrer's "
    "reward on an invited shopper's first paid order, exactly once however often the event "
    "is delivered.",
    tag="commerce",
    role="editor",
    body=OrderEventIn,
    response=OrderEventOut,
    errors=(422, 503),
)


def order_event_routes() -> list[web.RouteDef]:
    """The order-events route, for ``app.add_routes``."""
    return [web.post(PATH, order_event)]
