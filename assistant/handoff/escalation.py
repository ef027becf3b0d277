"""Hand-offs nobody answered in time are escalated once: a warning in the log and, if a webhook is
configured (``handoff.escalation_webhook``), a POST to it, e.g. a team chat's incoming webhook."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from assistant.commerce.models import HandoffRequest
from assistant.handoff.service import HandoffService

log = logging.getLogger("assistant.handoff")


def escalation_payload(request: HandoffRequest, waiting_seconds: float) -> dict[str, Any]:
    """The JSON the escalation webhook receives."""
    return {
        "event": "handoff_escalated",
        "handoff_id": request.id,
        "conversation_id": request.conversation_id,
        "platform": request.platform,
        "chat_id": request.chat_id,
        "user_name": request.user_name,
        "reason": request.reason,
        "text": request.text,
        "waiting_seconds": round(waiting_seconds),
        "created_at": request.created_at.isoformat(),
    }


async def escalate_once(
    service: HandoffService, webhook_url: str = "", *, timeout_seconds: float = 10.0
) -> list[HandoffRequest]:
    """Escalate every overdue hand-off not escalated before; returns those escalated now."""
    escalated = await asyncio.to_thread(service.escalate_overdue)
    for request in escalated:
        payload = escalation_payload(request, service.waiting_seconds(request))
        log.warning("hand-off escalated: nobody answered in time", extra=payload)
        if webhook_url:
            await _notify(webhook_url, payload, timeout_seconds)
    return escalated


async def _notify(url: str, payload: dict[str, Any], timeout_seconds: float) -> None:
    """POST the escalation; a webhook that fails is logged, the escalation itself stands."""
    try:
        timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, json=payload) as response,
        ):
            if response.status >= 300:
                log.error(
                    "escalation webhook refused",
                    extra={"status": response.status, "handoff_id": payload["handoff_id"]},
                )
    except (aiohttp.ClientError, asyncio.TimeoutError) as problem:
        log.error(
            "escalation webhook unreachable",
            extra={"error": str(problem), "handoff_id": payload["handoff_id"]},
        )


async def escalate_forever(
    service: HandoffService, webhook_url: str = "", *, every_seconds: float = 30.0
) -> None:
    """Check for overdue hand-offs every ``every_seconds`` until cancelled."""
    while True:
        try:
            await escalate_once(service, webhook_url)
        except Exception:  # noqa: BLE001 - a database hiccup must not end the checks
            log.exception("checking for overdue hand-offs failed")
        await asyncio.sleep(every_seconds)
