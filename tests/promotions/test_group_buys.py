"""Group-buys (拼团) in a chat: start, join, form with the group told, fail at the deadline."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from assistant.commerce.groupbuy_sweeper import sweep_once, sweeper_context
from assistant.commerce.promotion_desk import PromotionDesk
from tests.commerce.factories import FakeClock, race
from tests.promotions.conftest import DemoCatalogue, DeskFactory

CHAT = "wecom:group-1"


class Announcements:
    """A real announce coroutine that keeps what each group was told."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def __call__(self, platform: str, chat_id: str, text: str) -> None:
        self.sent.append((platform, chat_id, text))


def ask(desk: PromotionDesk, who: str, text: str, language: str = "zh", **more: object) -> Any:
    """What ``wecom:<who>`` is told in the group for ``text`` (the demo brand's catalogue)."""
    brand = str(more.pop("brand", "default"))
    return desk.group_buy(CHAT, f"wecom:{who}", brand, text, language, DemoCatalogue(), **more)


def start(desk: PromotionDesk, catalogue: DemoCatalogue, who: str = "wecom:amy") -> str:
    answer = desk.group_buy(CHAT, who, "default", "发起拼团 维C焕亮精华液", "zh", catalogue)
    assert answer.outcome == "started", answer
    return desk.store.group_buys.open_in_chat(CHAT, desk.now())[0].group_buy_id


def test_starting_tells_size_price_members_and_deadline(
    desk: PromotionDesk, catalogue: DemoCatalogue
) -> None:
    answer = desk.group_buy(CHAT, "wecom:amy", "default", "我要开团 维C精华", "zh", catalogue)

    assert answer.outcome == "started" and answer.product_id == "LY-SE-003"
    # 239 x 0.85 = 203.15; 24 hours from 12:00 China time.
    assert "「维C焕亮精华液」拼团" in answer.text
    assert "3人成团，拼团价¥203.15，已有1人，还差2人，11月27日 12:00截止" in answer.text


def test_friends_join_and_the_last_one_tells_the_whole_group_it_formed(
    desk: PromotionDesk, catalogue: DemoCatalogue
) -> None:
    group_buy_id = start(desk, catalogue)

    second = ask(desk, "ben", "参团")
    status = ask(desk, "cat", "拼团还差几人")
    third = ask(desk, "cat", "join the group buy", "en")

    assert second.outcome == "joined"
    assert second.text.startswith("已加入拼团，还差1人成团。")
    assert status.outcome == "status" and "已有2人，还差1人" in status.text
    assert third.outcome == "formed"
    assert third.text == (
        '"Vitamin C Brightening Serum" group-buy is complete: all 3 members are in, and '
        "everyone can order at the group price of CNY 203.15."
    )
    formed = desk.store.group_buys.get(group_buy_id)
    assert formed is not None and formed.members == ("wecom:amy", "wecom:ben", "wecom:cat")
    # Announced by that reply: the sweeper does not tell the group a second time.
    assert desk.due_outcomes() == []


def test_joining_twice_or_after_it_formed_takes_no_seat(
    desk: PromotionDesk, catalogue: DemoCatalogue
) -> None:
    start(desk, catalogue)
    again = ask(desk, "amy", "参团")
    ask(desk, "ben", "参团")
    ask(desk, "cat", "参团")

    late = ask(desk, "dee", "参团")

    assert again.outcome == "already_joined"
    assert again.text.startswith("您已经在这个拼团里了。") and "已有1人，还差2人" in again.text
    assert late.outcome == "none_open"  # the formed one is closed; she can start a new one


def test_a_product_without_a_deal_or_no_product_gets_the_list_of_deal_products(
    desk: PromotionDesk, catalogue: DemoCatalogue
) -> None:
    cleanser = ask(desk, "amy", "我要开团 洁面乳")
    which = ask(desk, "amy", "start a group buy", "en")
    elsewhere = ask(desk, "amy", "发起拼团", brand="other-brand")

    assert cleanser.outcome == "not_eligible"
    assert cleanser.text.startswith("洁面暂时不参加拼团，可以拼团的有：维C焕亮精华液、")
    assert which.outcome == "which" and "Centella Calming Sheet Mask" in which.text
    assert elsewhere.outcome == "unavailable"
    assert desk.store.group_buys.open_in_chat(CHAT, desk.now()) == []


def test_the_product_talked_about_just_before_is_the_one_started(
    desk: PromotionDesk, catalogue: DemoCatalogue
) -> None:
    answer = ask(desk, "amy", "这个可以拼团吗 发起", context_product_id="LY-MA-001")

    assert answer.outcome == "started" and answer.product_id == "LY-MA-001"


async def test_a_group_buy_short_at_its_deadline_fails_and_its_group_is_told_once(
    desk_factory: DeskFactory, catalogue: DemoCatalogue, clock: FakeClock
) -> None:
    desk = desk_factory()
    group_buy_id = start(desk, catalogue)
    ask(desk, "ben", "参团")
    told = Announcements()

    assert await sweep_once(desk, told, lambda chat: catalogue) == 0  # not due yet
    clock.advance(timedelta(hours=24))
    swept = await sweep_once(desk, told, lambda chat: catalogue)
    other_instance = await sweep_once(desk_factory(), told, lambda chat: catalogue)

    assert (swept, other_instance) == (1, 0)
    assert len(told.sent) == 1
    platform, chat_id, message = told.sent[0]
    assert (platform, chat_id) == ("wecom", "group-1")
    assert f"「维C焕亮精华液」拼团(编号 {group_buy_id})到截止时间还差1人，未能成团" in message
    assert '"Vitamin C Brightening Serum" group-buy' in message  # and in English below it
    assert ask(desk, "cat", "参团").outcome == "none_open"


async def test_an_unreachable_group_does_not_stop_the_others_being_told(
    desk: PromotionDesk, catalogue: DemoCatalogue, clock: FakeClock
) -> None:
    for chat in ("wecom:broken", "wecom:fine"):
        desk.group_buy(chat, "wecom:amy", "default", "发起拼团 积雪草舒缓面膜", "zh", catalogue)
    told = Announcements()

    async def announce(platform: str, chat_id: str, text: str) -> None:
        if chat_id == "broken":
            raise ConnectionError("platform down")
        await told(platform, chat_id, text)

    clock.advance(timedelta(days=2))
    assert await sweep_once(desk, announce, lambda chat: catalogue) == 2
    assert [chat for _, chat, _ in told.sent] == ["fine"]


@pytest.mark.parametrize("joiners", [12])
def test_many_friends_joining_at_once_fill_exactly_the_seats(
    desk_factory: DeskFactory, catalogue: DemoCatalogue, joiners: int
) -> None:
    desks = [desk_factory() for _ in range(3)]
    start(desks[0], catalogue)

    answers = race(
        joiners,
        lambda n: desks[n % 3].group_buy(CHAT, f"wecom:f{n}", "default", "参团", "zh", catalogue),
    )

    outcomes = [a.outcome for a in answers]
    assert outcomes.count("formed") == 1
    assert outcomes.count("joined") == 1
    assert desks[0].due_outcomes() == []  # the forming reply told the group already


async def test_the_app_sweeps_in_the_background_through_the_group_chats_announce(
    desk: PromotionDesk, catalogue: DemoCatalogue, clock: FakeClock, aiohttp_client: Any
) -> None:
    start(desk, catalogue)
    clock.advance(timedelta(days=1))
    told = Announcements()
    services = SimpleNamespace(
        promotions=desk,
        knowledge_for=lambda conversation: catalogue,
        settings=SimpleNamespace(promotions=SimpleNamespace(sweep_seconds=0.05)),
    )
    app = web.Application()
    app.cleanup_ctx.append(sweeper_context(services, SimpleNamespace(announce=told)))

    await aiohttp_client(app)
    for _ in range(100):
        if told.sent:
            break
        await asyncio.sleep(0.05)

    assert [(p, c) for p, c, _ in told.sent] == [("wecom", "group-1")]
    assert "未能成团" in told.sent[0][2]
