"""Referrals: stable invite codes, one referrer per invitee, one reward for the first paid order."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from assistant.commerce.promo_codes import ALPHABET
from assistant.commerce.promotions_sql import SqlPromotions
from assistant.commerce.referrals import BindStatus, ReferralService, RewardStatus
from tests.commerce.conftest import PromotionsFactory
from tests.commerce.factories import FakeClock, race

NOW = datetime(2025, 11, 18, 2, 0, tzinfo=timezone.utc)


def test_sql_referrals_implement_the_interface(promotions: SqlPromotions) -> None:
    assert isinstance(promotions.referrals, ReferralService)


def test_invite_code_is_short_stable_and_personal(
    promotions_factory: PromotionsFactory,
) -> None:
    referrals = promotions_factory().referrals
    code = referrals.invite_code("alice", NOW)

    assert len(code) == 8 and set(code) <= set(ALPHABET)
    assert referrals.invite_code("alice") == code
    assert promotions_factory().referrals.invite_code("alice") == code  # after a restart too
    assert referrals.invite_code("bob") != code


def test_shoppers_asking_for_their_code_at_once_all_get_the_same_one(
    promotions_factory: PromotionsFactory,
) -> None:
    instances = [promotions_factory(), promotions_factory()]
    instances[0].referrals.referrer_of("nobody")  # tables exist before the race

    codes = race(10, lambda n: instances[n % 2].referrals.invite_code("alice", NOW))

    assert len(set(codes)) == 1


def test_invitee_is_bound_to_the_first_code_they_enter(promotions: SqlPromotions) -> None:
    referrals = promotions.referrals
    alice = referrals.invite_code("alice", NOW)
    bob = referrals.invite_code("bob", NOW)

    # Shoppers type codes in lower case, with spaces, or with O for 0: all still match.
    typed = " " + alice.lower().replace("0", "o") + " "
    first = referrals.register_invitee(typed, "carol", NOW)
    second = referrals.register_invitee(bob, "carol", NOW)

    assert first.ok and first.referrer_id == "alice"
    assert (second.status, second.referrer_id) == (BindStatus.ALREADY_BOUND, "alice")
    assert referrals.referrer_of("carol") == "alice"


def test_codes_that_do_not_make_a_referral_are_refused(promotions: SqlPromotions) -> None:
    referrals = promotions.referrals
    alice = referrals.invite_code("alice", NOW)
    referrals.register_invitee(alice, "bob", NOW)
    bob = referrals.invite_code("bob", NOW)
    promotions.order_paid("dave", "DD202511170001", NOW)

    assert referrals.register_invitee("ZZZZZZZZ", "carol", NOW).status is BindStatus.UNKNOWN_CODE
    assert referrals.register_invitee(alice, "alice", NOW).status is BindStatus.SELF_INVITE
    assert referrals.register_invitee(bob, "alice", NOW).status is BindStatus.CIRCULAR
    assert referrals.register_invitee(alice, "dave", NOW).status is BindStatus.EXISTING_CUSTOMER
    assert referrals.referrer_of("alice") is None
    assert referrals.referrer_of("dave") is None


def test_simultaneous_codes_for_one_invitee_bind_exactly_one_referrer(
    promotions_factory: PromotionsFactory,
) -> None:
    instances = [promotions_factory(), promotions_factory()]
    codes = [instances[0].referrals.invite_code(f"friend{n}", NOW) for n in range(6)]

    results = race(6, lambda n: instances[n % 2].referrals.register_invitee(codes[n], "newbie"))

    assert Counter(r.status for r in results) == {
        BindStatus.BOUND: 1,
        BindStatus.ALREADY_BOUND: 5,
    }
    (winner,) = [r.referrer_id for r in results if r.ok]
    assert {r.referrer_id for r in results} == {winner}
    assert instances[1].referrals.referrer_of("newbie") == winner


def test_first_paid_order_rewards_the_referrer_once(
    promotions_factory: PromotionsFactory, clock: FakeClock
) -> None:
    promotions = promotions_factory(clock=clock)
    referrals = promotions.referrals
    referrals.register_invitee(referrals.invite_code("alice"), "carol")
    clock.advance(timedelta(days=2))

    first = promotions.order_paid("carol", "DD202511200001", clock.now)
    repeated = referrals.order_paid("carol", "DD202511200001")
    second_order = referrals.order_paid("carol", "DD202511210002")

    assert first.granted and first.reward is not None
    assert (first.reward.referrer_id, first.reward.invitee_id) == ("alice", "carol")
    assert first.reward.order_id == "DD202511200001"
    assert first.reward.granted_at == clock.now
    assert (repeated.status, repeated.reward) == (RewardStatus.ALREADY_GRANTED, first.reward)
    assert second_order.status is RewardStatus.NOT_FIRST_ORDER
    assert referrals.rewards_of("alice") == [first.reward]
    assert referrals.order_paid("dave", "DD3", NOW).status is RewardStatus.NOT_REFERRED


def test_payment_notices_racing_each_other_grant_one_reward(
    promotions_factory: PromotionsFactory,
) -> None:
    instances = [promotions_factory(), promotions_factory()]
    referrals = instances[0].referrals
    referrals.register_invitee(referrals.invite_code("alice", NOW), "carol", NOW)

    # The payment webhook retried while the order sync reports the same order, plus a second
    # order paid at the same moment: one reward, for whichever order counted as the first.
    orders = ["DD202511200001"] * 8 + ["DD202511200002"] * 4
    results = race(
        len(orders),
        lambda n: instances[n % 2].referrals.order_paid("carol", orders[n], NOW),
    )

    assert sum(r.granted for r in results) == 1
    (reward,) = referrals.rewards_of("alice")
    counted = [r for r in results if r.status is not RewardStatus.NOT_FIRST_ORDER]
    assert {r.reward for r in counted} == {reward}
    assert all(orders[n] == reward.order_id for n, r in enumerate(results) if r in counted)
    assert instances[1].referrals.rewards_of("alice") == [reward]
