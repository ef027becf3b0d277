"""Staff see what never reached shoppers and what the compliance guard changed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import create_engine

from assistant.compliance.store import ComplianceLog
from assistant.connectors.delivery import Delivery
from assistant.messages import OutgoingReply
from tests.admin.support import AdminStack, viewer

Client = Any


async def test_undelivered_replies_are_listed_for_staff(client: Client, stack: AdminStack) -> None:
    assert (await client.get("/api/admin/undelivered")).status == 401
    shopper = f"u-{uuid.uuid4().hex[:8]}"
    delivery = Delivery(create_engine(stack.settings.commerce_url, future=True))
    reply = OutgoingReply("line", "C123", shopper, "小林", "订单已发货 138****3821", private=True)
    delivery._record(reply, "HTTP 403 not a friend of the bot", 1)

    response = await client.get("/api/admin/undelivered?platform=line", headers=viewer())
    assert response.status == 200
    items = (await response.json())["items"]
    mine = [i for i in items if i["to_user"] == shopper]
    assert len(mine) == 1
    assert mine[0]["private"] and "403" in mine[0]["error"] and mine[0]["attempts"] == 1
    other = await client.get("/api/admin/undelivered?platform=telegram", headers=viewer())
    assert all(i["to_user"] != shopper for i in (await other.json())["items"])
    bad = await client.get("/api/admin/undelivered?limit=0", headers=viewer())
    assert bad.status == 422


async def test_replies_changed_by_the_compliance_guard_are_listed(
    client: Client, stack: AdminStack
) -> None:
    conversation = f"web:g1:{uuid.uuid4().hex[:8]}"
    ComplianceLog(stack.settings.commerce_url).record(
        conversation,
        "rewrite",
        ["zh-best-of"],
        ["absolute_term"],
        "zh",
        "我们最好的精华,电话13800003821",
        "我们很好的精华,电话13800003821",
    )
    response = await client.get("/api/admin/compliance?limit=5", headers=viewer())
    assert response.status == 200
    [event] = [e for e in (await response.json())["items"] if e["conversation_id"] == conversation]
    assert event["rule_ids"] == ["zh-best-of"] and event["action"] == "rewrite"
    assert "很好的" in event["after"] and "13800003821" not in event["before"]  # masked
