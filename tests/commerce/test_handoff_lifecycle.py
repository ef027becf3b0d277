"""Hand-offs through their life as staff see them: who took it, when it was answered, how long
the shopper waited, and escalation of the ones nobody answered (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import create_engine, text

from assistant.commerce.sql import SqlCommerce
from assistant.handoff import HandoffService, Shopper
from assistant.handoff.escalation import escalate_forever
from assistant.handoff.service import HandoffClosed
from tests.commerce.conftest import StoreFactory
from tests.commerce.factories import FakeClock

LIN = Shopper("web", "demo-group", "u-lin", "小林")


def service_on(store: SqlCommerce, clock: FakeClock, minutes: float = 10) -> HandoffService:
    return HandoffService(store, escalate_after=timedelta(minutes=minutes), clock=clock)


def test_a_handoff_goes_from_waiting_to_claimed_answered_and_closed(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    service = service_on(store_factory(clock=clock), clock)
    started = service.start(
        "web:demo-group:u-lin", LIN, reason="shopper_request", language="zh", text="转人工"
    )
    assert started.stage == "open"
    assert (started.platform, started.chat_id, started.user_id, started.user_name) == (
        "web",
        "demo-group",
        "u-lin",
        "小林",
    )

    clock.advance(timedelta(minutes=2))
    assert service.waiting_seconds(service.get(started.id)) == 120
    claimed = service.claim(started.id, "amy")
    assert (claimed.stage, claimed.claimed_by, claimed.claimed_at) == ("claimed", "amy", clock.now)

    clock.advance(timedelta(minutes=1))
    answered = service.answered(started.id, "amy")
    assert answered.stage == "answered"
    assert answered.answered_by == "amy"
    # The waiting clock stops at the first staff reply, however long the talk goes on.
    clock.advance(timedelta(minutes=30))
    assert service.waiting_seconds(service.get(started.id)) == 180

    closed = service.close(started.id, "amy")
    assert (closed.stage, closed.closed_by, closed.closed_at) == ("closed", "amy", clock.now)
    with pytest.raises(HandoffClosed):
        service.close(started.id, "bob")
    # The shopper may ask again: a new request, waiting anew.
    again = service.start(
        "web:demo-group:u-lin", LIN, reason="anger", language="zh", text="还是不行"
    )
    assert again.id != started.id and again.stage == "open"


def test_a_second_staff_member_does_not_take_over_a_claimed_handoff(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    service = service_on(store_factory(clock=clock), clock)
    request = service.start("tg:-100:7", LIN, reason="anger", language="en", text="awful")
    service.claim(request.id, "amy")
    assert service.claim(request.id, "bob").claimed_by == "amy"


def test_unknown_reasons_are_refused(store_factory: StoreFactory, clock: FakeClock) -> None:
    service = service_on(store_factory(clock=clock), clock)
    with pytest.raises(ValueError, match="unknown hand-off reason"):
        service.start("web:g:u", LIN, reason="bored", language="zh", text="?")


def test_unanswered_handoffs_are_escalated_once_past_the_threshold(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    # Two app instances checking the same queue: each overdue request is escalated once.
    first = service_on(store_factory(clock=clock), clock)
    second = service_on(store_factory(clock=clock), clock)
    waiting = first.start("web:g:a", LIN, reason="shopper_request", language="zh", text="人工")
    answered = first.start("web:g:b", LIN, reason="shopper_request", language="zh", text="人工")
    first.answered(answered.id, "amy")

    clock.advance(timedelta(minutes=9, seconds=59))
    assert first.escalate_overdue() == []
    clock.advance(timedelta(seconds=1))
    (escalated,) = first.escalate_overdue()
    assert escalated.id == waiting.id and escalated.escalated_at == clock.now
    assert second.escalate_overdue() == []
    assert first.escalate_overdue() == []


def test_the_queue_shows_escalated_then_longest_waiting_then_answered_then_closed(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    service = service_on(store_factory(clock=clock), clock, minutes=5)
    ids = {}
    for user in ("old", "answered", "closed", "late"):
        ids[user] = service.start(
            f"web:g:{user}", LIN, reason="shopper_request", language="zh", text="人工"
        ).id
        clock.advance(timedelta(minutes=3))
    service.answered(ids["answered"], "amy")
    service.close(ids["closed"], "amy")
    service.escalate_overdue()  # "old" waited 12 min; "late" only 3

    order = [h.conversation_id for h in service.queue(closed=5)]
    assert order == ["web:g:old", "web:g:late", "web:g:answered", "web:g:closed"]
    assert service.queue()[0].escalated


def test_a_handoff_table_from_before_the_console_gains_its_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'commerce.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE commerce_handoff_requests (id INTEGER PRIMARY KEY, "
                "conversation_id VARCHAR(255) NOT NULL, language VARCHAR(8) NOT NULL, "
                "reason VARCHAR(64) NOT NULL, text TEXT NOT NULL, created_at DATETIME NOT NULL, "
                "status VARCHAR(16) NOT NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO commerce_handoff_requests VALUES "
                "(1, 'wecom:g8:u42', 'zh', 'shopper_request', '人工', "
                "'2025-11-18 02:00:00', 'open')"
            )
        )
    engine.dispose()
    store = SqlCommerce(url)
    (kept,) = store.open_handoffs()
    assert (kept.conversation_id, kept.stage, kept.user_name) == ("wecom:g8:u42", "open", "")
    assert store.claim_handoff(1, "amy") is True
    assert store.get_handoff(1).claimed_by == "amy"
    store.close()


def test_where_to_reply_comes_from_the_message_metadata_or_the_conversation_id() -> None:
    assert Shopper.of("feishu:oc:abc:ou_1") == Shopper("feishu", "oc:abc", "ou_1", "ou_1")
    named = Shopper.of(
        "web:g:u", {"platform": "web", "chat_id": "g", "user_id": "u", "user_name": "小林"}
    )
    assert (named.user_name, named.person_id) == ("小林", "web:u")
    assert Shopper.of("tg:5:5", {"chat_type": "private"}).chat_type == "private"


async def test_the_app_task_escalates_with_a_warning_and_a_webhook_post(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"ok": True})

    webhook = web.Application()
    webhook.router.add_post("/hook", hook)
    runner = web.AppRunner(webhook)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    store = SqlCommerce(f"sqlite:///{tmp_path / 'commerce.db'}")
    service = HandoffService(store, escalate_after=timedelta(milliseconds=200))
    request = service.start("web:g:u", LIN, reason="anger", language="zh", text="太差了")
    caplog.set_level(logging.WARNING, logger="assistant.handoff")
    task = asyncio.create_task(
        escalate_forever(service, f"http://127.0.0.1:{port}/hook", every_seconds=0.05)
    )
    try:
        await asyncio.sleep(0.1)
        assert received == []  # not overdue yet
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # several more checks: still only one escalation
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()
        store.close()

    assert len(received) == 1
    assert received[0]["handoff_id"] == request.id
    assert received[0]["event"] == "handoff_escalated" and received[0]["reason"] == "anger"
    assert [r.message for r in caplog.records].count(
        "hand-off escalated: nobody answered in time"
    ) == 1
    assert service.get(request.id).escalated
