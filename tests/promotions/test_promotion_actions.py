"""The promotion actions run in-process on the real services (knowledge base, SQL stores): what
the shopper and the group are told, in Chinese and English, and the events Rasa gets back."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.promotions import (
    ActionAnswerPromotion,
    ActionClaimCoupon,
    ActionGroupBuy,
    ActionInviteCode,
    ActionUseInviteCode,
)
from assistant import runtime
from assistant.commerce.promotion_desk import PromotionDesk
from tests.promotions.conftest import DeskFactory

CODE = re.compile(r"\b[0-9A-Z]{8}\b")


@pytest.fixture
def promotions_factory(sqlite_promotions: Any) -> Any:
    """The actions are about what people are told; the stores' databases are tested elsewhere."""
    return sqlite_promotions


@pytest.fixture
def desk(desk_factory: DeskFactory, services: Any) -> Iterator[PromotionDesk]:
    made = desk_factory()
    runtime.configure(dataclasses.replace(services, promotions=made))
    yield made
    runtime.configure(services)


def tracker(text: str, sender: str, slots: dict[str, Any] | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": "claim_coupon", "confidence": 0.9}}
    return Tracker(sender, slots or {}, message, [], False, None, {}, "action_listen")


async def run(action: Any, track: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, track, {})
    return dispatcher.messages, events


def person(name: str = "") -> str:
    return name or uuid.uuid4().hex[:8]


async def test_claiming_sends_the_code_privately_with_a_short_note_for_the_group(
    desk: PromotionDesk,
) -> None:
    who = person()
    [message], events = await run(ActionClaimCoupon(), tracker("领券", f"wecom:g1:{who}"))
    [again], _ = await run(ActionClaimCoupon(), tracker("claim the coupon", f"wecom:g2:{who}"))

    assert events == []
    assert message["custom"]["private"] is True
    assert message["custom"]["group_note"] == "领取成功！券码已私信发给你，请查收~"
    codes = set(CODE.findall(message["text"]))
    assert len(codes) == 2 and not CODE.search(message["custom"]["group_note"])
    # The same person in another group of the platform: reminded of the same codes, in English.
    assert again["custom"]["private"] is True
    assert again["custom"]["outcome"] == "already_claimed"
    assert "sent your code to you privately again" in again["custom"]["group_note"]
    assert set(CODE.findall(again["text"])) == codes


async def test_without_promotions_running_the_shopper_is_told_plainly(services: Any) -> None:
    runtime.configure(dataclasses.replace(services, promotions=None))
    try:
        [zh], _ = await run(ActionClaimCoupon(), tracker("领券", "wecom:g1:x"))
        [en], _ = await run(ActionInviteCode(), tracker("my referral code", "wecom:g1:x"))
    finally:
        runtime.configure(services)

    assert zh["text"] == "优惠活动暂时查询不到，请稍后再试一下~"
    assert en["text"] == "Offers are not available right now. Please try again in a moment."


async def test_a_group_buy_is_started_joined_and_formed_in_the_group(desk: PromotionDesk) -> None:
    group = f"g-{uuid.uuid4().hex[:6]}"
    start = tracker("我要开团 积雪草舒缓面膜", f"wecom:{group}:amy")
    [started], events = await run(ActionGroupBuy(), start)
    [joined], _ = await run(ActionGroupBuy(), tracker("参团", f"wecom:{group}:ben"))
    [asked], _ = await run(ActionGroupBuy(), tracker("拼团还差几人", f"wecom:{group}:ben"))
    [formed], _ = await run(ActionGroupBuy(), tracker("join the group buy", f"wecom:{group}:cat"))

    assert "「积雪草舒缓面膜」拼团" in started["text"] and "还差2人" in started["text"]
    assert events == [SlotSet("last_product_id", "LY-MA-001")]
    assert "已加入拼团，还差1人成团。" in joined["text"]
    assert "已有2人，还差1人" in asked["text"]
    assert formed["text"].startswith('"Centella Calming Sheet Mask" group-buy is complete')
    assert not formed["custom"].get("private")  # told to the whole group
    open_now = desk.store.group_buys.open_in_chat(f"wecom:{group}", desk.now())
    assert open_now == []


async def test_a_group_buy_uses_the_product_talked_about(desk: PromotionDesk) -> None:
    slots = {"last_product_id": "LY-SU-001"}
    track = tracker("start a group buy for this", f"telegram:{person()}:amy", slots)

    [message], events = await run(ActionGroupBuy(), track)

    assert message["text"].startswith("Your group-buy has started!")
    assert '"Sheer Daily Sunscreen SPF50+ PA++++" group-buy' in message["text"]
    assert events == []  # the slot already names it


async def test_invite_codes_are_given_and_used_in_both_languages(desk: PromotionDesk) -> None:
    amy, cat = f"wecom:g1:{person()}", f"wecom:g1:{person()}"
    [mine], _ = await run(ActionInviteCode(), tracker("我的邀请码", amy))
    code = CODE.search(mine["text"]).group(0)  # type: ignore[union-attr]
    [en], _ = await run(ActionInviteCode(), tracker("my referral code", amy))

    [bound], _ = await run(ActionUseInviteCode(), tracker(f"我是被邀请的 邀请码 {code}", cat))
    [twice], _ = await run(ActionUseInviteCode(), tracker(f"I have an invite code {code}", cat))
    [own], _ = await run(ActionUseInviteCode(), tracker(f"I have an invite code {code}", amy))

    assert "邀请规则" in mine["text"] and f"Your invite code: {code}" in en["text"]
    assert bound["text"] == "邀请码已生效，首单完成后邀请人会获得奖励。"
    assert twice["text"].startswith("You have already used an invite code")
    assert own["text"] == "You cannot use your own invite code."


async def test_the_promotions_answer_adds_the_offer_for_the_shoppers_stage(
    desk: PromotionDesk,
) -> None:
    new, regular = f"wecom:g1:{person()}", f"wecom:g1:{person()}"
    desk.store.order_paid(f"wecom:{regular.rsplit(':', 1)[1]}", "DD-A1", desk.now())

    [for_new], _ = await run(ActionAnswerPromotion(), tracker("最近有什么活动", new))
    [for_regular], _ = await run(ActionAnswerPromotion(), tracker("any offers now?", regular))

    assert for_new["text"].startswith("现在进行中的活动:")
    assert "欢迎加入澜屿！" in for_new["text"]
    assert "为你准备的福利：「新朋友专享 满99减10」，回复“领券”即可领取。" in for_new["text"]
    assert for_regular["text"].startswith("Offers running now:")
    assert "Member day on the 18th" in for_regular["text"]
    assert "Welcome coupon" not in for_regular["text"]
    # Asking counted as activity: the new shopper is known now.
    assert desk.store.activity.activity_of(f"wecom:{new.rsplit(':', 1)[1]}") is not None


def test_the_action_server_offers_every_promotion_action() -> None:
    from assistant.action_server import ActionEndpoint

    names = set(ActionEndpoint().executor.actions)

    assert {
        "action_claim_coupon",
        "action_group_buy",
        "action_invite_code",
        "action_use_invite_code",
        "action_answer_promotion",
    } <= names
