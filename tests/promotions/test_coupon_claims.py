"""Claiming coupons from a group: the right campaign, once per person, never more than the stock."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from assistant.commerce.promotion_desk import PromotionDesk
from tests.commerce.factories import FakeClock, race
from tests.promotions.conftest import DeskFactory

CODE = re.compile(r"[0-9A-Z]{8}")


def test_a_new_shopper_gets_every_running_coupon_they_may_have_with_codes_only_in_private(
    desk: PromotionDesk,
) -> None:
    answer = desk.claim_coupon("wecom:alice", "default", "领券", "zh")

    assert answer.outcome == "claimed"
    assert answer.text == "领取成功！券码已私信发给你，请查收~"
    assert not CODE.search(answer.text)  # the group never sees a code
    assert "新朋友专享" in answer.private and "冬日焕新券" in answer.private
    assert "满99元减10元" in answer.private
    held = desk.store.coupons.coupons_of("wecom:alice")
    assert {c.campaign_id for c in held} == {"WELCOME-10", "WINTER-20"}
    assert all(c.code in answer.private for c in held)
    # Not the referral reward: that one is only earned.
    assert "邀请有礼" not in answer.private


def test_claiming_again_repeats_the_codes_privately_and_takes_no_stock(desk: PromotionDesk) -> None:
    first = desk.claim_coupon("wecom:alice", "default", "我要领优惠券", "zh")
    codes = set(CODE.findall(first.private))

    again = desk.claim_coupon("wecom:alice", "default", "claim the coupon", "en")

    assert again.outcome == "already_claimed"
    assert again.text == (
        "You have this coupon already; I have sent your code to you privately again."
    )
    assert set(CODE.findall(again.private)) == codes
    stock = desk.store.coupons.stock("WINTER-20")
    assert stock is not None and stock.issued == 1


def test_the_same_person_in_another_group_is_the_same_shopper(desk: PromotionDesk) -> None:
    desk.claim_coupon("wecom:alice", "default", "领券", "zh")

    # Conversations "wecom:g2:alice" and "wecom:g1:alice" are both person "wecom:alice".
    again = desk.claim_coupon("wecom:alice", "default", "领券", "zh")

    assert again.outcome == "already_claimed"


def test_an_active_shopper_does_not_get_the_new_shoppers_coupon(
    desk: PromotionDesk, clock: FakeClock
) -> None:
    desk.store.order_paid("wecom:bob", "DD1", clock.now - timedelta(days=3))

    answer = desk.claim_coupon("wecom:bob", "default", "领券", "zh")
    named = desk.claim_coupon("wecom:bob", "default", "领 新朋友专享 满99减10", "zh")

    assert answer.outcome == "claimed"
    assert [c.campaign_id for c in desk.store.coupons.coupons_of("wecom:bob")] == ["WINTER-20"]
    assert named.outcome == "not_eligible"
    assert "新朋友专享 满99减10" in named.text


def test_out_of_stock_not_started_ended_and_no_campaign_are_told_in_both_languages(
    desk: PromotionDesk,
) -> None:
    assert desk.claim_coupon("wecom:first", "tiny-brand", "领券", "zh").outcome == "claimed"

    sold_out = desk.claim_coupon("wecom:second", "tiny-brand", "领券", "zh")
    later = desk.claim_coupon("wecom:carol", "spring-brand", "claim the coupon", "en")
    over = desk.claim_coupon("wecom:carol", "autumn-brand", "领券", "zh")
    nothing = desk.claim_coupon("wecom:carol", "brand-without-coupons", "claim the coupon", "en")

    assert sold_out.outcome == "out_of_stock"
    assert sold_out.text == "「限量券 满100减50」的优惠券已经领完了。"
    assert later.outcome == "not_started"
    assert later.text == (
        '"Spring coupon: CNY 15 off 150" has not started yet; you can claim it from '
        "Mar 1, 10:00 (UTC+8)."
    )
    assert over.outcome == "ended"
    assert over.text == "「秋季福利 满150减15」已经结束了，下次活动再来吧。"
    assert nothing.outcome == "no_campaign"
    assert nothing.text.startswith("There is no coupon to claim right now")


def test_a_coupon_is_valid_to_the_last_minute_of_its_end_day(
    desk: PromotionDesk, clock: FakeClock
) -> None:
    desk.store.order_paid("wecom:dan", "DD2", clock.now)  # active: only the winter coupon

    answer = desk.claim_coupon("wecom:dan", "default", "claim the coupon", "en")

    assert "valid until Feb 28, 23:59 (UTC+8)" in answer.private
    assert "CNY 20 off orders of CNY 199+" in answer.private


def test_many_parallel_claims_never_over_issue_nor_give_one_person_two(
    desk_factory: DeskFactory,
) -> None:
    # Four app instances; 40 shoppers (each asking twice at once) race for 10 winter coupons.
    desks = [desk_factory() for _ in range(4)]
    for d in desks:
        d.store.order_paid("wecom:seed", "DD0", d.now())  # touch the tables once
    people = [f"wecom:shopper{n % 40}" for n in range(80)]

    answers = race(
        80, lambda n: desks[n % 4].claim_coupon(people[n], "default", "冬日焕新券", "zh")
    )

    coupons = [c for p in set(people) for c in desks[0].store.coupons.coupons_of(p)]
    winter = [c for c in coupons if c.campaign_id == "WINTER-20"]
    assert len(winter) == 10
    assert len({c.shopper_id for c in winter}) == 10  # nobody holds two
    assert len({c.code for c in winter}) == 10
    outcomes = Counter(a.outcome for a in answers)
    assert outcomes["claimed"] == 10
    assert outcomes["claimed"] + outcomes["out_of_stock"] + outcomes["already_claimed"] == 80
    stock = desks[0].store.coupons.stock("WINTER-20")
    assert stock is not None and (stock.issued, stock.remaining) == (10, 0)
