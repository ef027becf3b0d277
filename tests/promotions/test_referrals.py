"""Referrals (裂变): a stable invite code, one inviter per invitee, one reward per first order."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from assistant.admin.order_events_api import PATH, order_event_routes
from assistant.app import SERVICES
from assistant.commerce.promotion_desk import PromotionDesk, invite_code_in
from assistant.commerce.referrals import RewardStatus
from assistant.config import load_settings
from assistant.http_errors import json_errors
from tests.commerce.factories import race
from tests.promotions.conftest import DeskFactory

EDITOR = "order-system-token-0123456789"
VIEWER = "viewer-token-0123456789abcdef"


def test_the_invite_code_is_stable_and_comes_with_the_rules(desk: PromotionDesk) -> None:
    first = desk.invite_code("wecom:amy", "zh")
    again = desk.invite_code("wecom:amy", "en")

    code = desk.store.referrals.invite_code("wecom:amy")
    assert f"你的专属邀请码：{code}" in first.text
    assert "好友首单付款后，你将获得「邀请有礼 满99减30」" in first.text
    assert f"Your invite code: {code}" in again.text
    assert desk.invite_code("wecom:ben", "zh").text != first.text


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("我是被邀请的 邀请码 AB12CD", "AB12CD"),
        ("I have an invite code xyz", "XYZ"),
        ("invite code: 7k3m-9q2p", "7K3M9Q2P"),
        ("邀请码是多少", None),
        ("my friend gave me 7K3M9Q2P", "7K3M9Q2P"),
    ],
)
def test_the_code_is_found_in_what_shoppers_type(message: str, expected: str | None) -> None:
    assert invite_code_in(message) == expected


def test_an_invitee_binds_once_and_never_to_themselves(desk: PromotionDesk) -> None:
    code = desk.store.referrals.invite_code("wecom:amy")
    other = desk.store.referrals.invite_code("wecom:ben")

    own = desk.use_invite_code("wecom:amy", f"邀请码 {code}", "zh")
    bound = desk.use_invite_code("wecom:cat", f"我是被邀请的 邀请码 {code.lower()}", "zh")
    second = desk.use_invite_code("wecom:cat", f"invite code {other}", "en")
    unknown = desk.use_invite_code("wecom:dee", "I have an invite code XYZ", "en")
    missing = desk.use_invite_code("wecom:dee", "我是被邀请的", "zh")

    assert (own.outcome, own.text) == ("self_invite", "不能使用自己的邀请码哦。")
    assert bound.outcome == "bound"
    assert second.outcome == "already_bound" and "one inviter" in second.text
    assert desk.store.referrals.referrer_of("wecom:cat") == "wecom:amy"
    assert unknown.outcome == "unknown_code"
    assert missing.outcome == "missing_code" and "邀请码 7K3M9Q2P" in missing.text


def test_parallel_duplicate_paid_events_grant_one_reward_coupon(
    desk_factory: DeskFactory,
) -> None:
    desks = [desk_factory() for _ in range(4)]
    code = desks[0].store.referrals.invite_code("wecom:amy")
    desks[0].use_invite_code("wecom:cat", f"邀请码 {code}", "zh")

    # The order system delivers "paid" for the first order 12 times at once, on 4 instances.
    outcomes = race(12, lambda n: desks[n % 4].order_events().paid("DD100", "wecom:cat"))
    later = desks[0].order_events().paid("DD200", "wecom:cat")

    statuses = Counter(o.referral for o in outcomes)
    assert statuses == {RewardStatus.GRANTED: 1, RewardStatus.ALREADY_GRANTED: 11}
    coupons = [o.reward_coupon for o in outcomes if o.reward_coupon is not None]
    assert len(coupons) == 1 and coupons[0].shopper_id == "wecom:amy"
    assert [c.campaign_id for c in desks[0].store.coupons.coupons_of("wecom:amy")] == ["INVITE-30"]
    assert later.referral is RewardStatus.NOT_FIRST_ORDER and later.reward_coupon is None
    assert len(desks[0].store.referrals.rewards_of("wecom:amy")) == 1
    # Paying made her an active shopper: the stage offer no longer welcomes her as new.
    assert "欢迎加入澜屿" not in desks[0].stage_offer("wecom:cat", "default", "zh")


def test_a_shopper_who_has_bought_before_cannot_use_a_code(desk: PromotionDesk) -> None:
    code = desk.store.referrals.invite_code("wecom:amy")
    desk.order_events().paid("DD300", "wecom:old")

    answer = desk.use_invite_code("wecom:old", f"邀请码 {code}", "zh")

    assert answer.outcome == "existing_customer"


@pytest.fixture
async def client(desk: PromotionDesk, tmp_path: Path, aiohttp_client: Any) -> Any:
    settings = load_settings(
        data_dir=tmp_path / "app",
        admin={
            "tokens": [
                {"name": "orders", "role": "editor", "token": EDITOR},
                {"name": "viewer", "role": "viewer", "token": VIEWER},
            ]
        },
    )
    app = web.Application(middlewares=[json_errors])
    app[SERVICES] = SimpleNamespace(settings=settings, promotions=desk)  # type: ignore[misc]
    app.add_routes(order_event_routes())
    return await aiohttp_client(app)


async def test_the_order_events_endpoint_grants_the_reward_once(
    client: Any, desk: PromotionDesk
) -> None:
    code = desk.store.referrals.invite_code("telegram:amy")
    desk.use_invite_code("telegram:cat", f"邀请码 {code}", "zh")
    event = {"order_id": "DD900", "event": "paid", "person_id": "telegram:cat"}
    auth = {"Authorization": f"Bearer {EDITOR}"}

    first = await client.post(PATH, json=event, headers=auth)
    again = await client.post(PATH, json=event, headers=auth)

    assert first.status == 200 and again.status == 200
    granted, repeated = await first.json(), await again.json()
    assert granted["referral"] == "granted" and granted["referrer_id"] == "telegram:amy"
    assert len(granted["reward_coupon"]) == 8
    assert repeated["referral"] == "already_granted" and repeated["reward_coupon"] is None


async def test_the_order_events_endpoint_refuses_strangers_and_bad_events(client: Any) -> None:
    event = {"order_id": "DD901", "event": "paid", "person_id": "telegram:cat"}

    anonymous = await client.post(PATH, json=event)
    viewer = await client.post(PATH, json=event, headers={"Authorization": f"Bearer {VIEWER}"})
    refunded = await client.post(
        PATH, json={**event, "event": "refunded"}, headers={"Authorization": f"Bearer {EDITOR}"}
    )
    no_person = await client.post(
        PATH, json={**event, "person_id": "cat"}, headers={"Authorization": f"Bearer {EDITOR}"}
    )

    assert (anonymous.status, viewer.status) == (401, 403)
    assert refunded.status == 422 and no_person.status == 422
    fields = {f["field"] for f in (await no_person.json())["fields"]}
    assert fields == {"person_id"}
