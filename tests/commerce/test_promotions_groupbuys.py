"""Group-buys: friends join until it forms, or it fails at the deadline; each outcome told once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from assistant.commerce.groupbuys import GroupBuy, GroupBuyService, JoinStatus
from assistant.commerce.promotions_sql import SqlPromotions
from tests.commerce.conftest import PromotionsFactory
from tests.commerce.factories import race

NOW = datetime(2025, 11, 18, 2, 0, tzinfo=timezone.utc)
CHAT = "wecom:group-8"


def start(promotions: SqlPromotions, *, size: int = 3, hours: int = 24) -> GroupBuy:
    return promotions.group_buys.start(
        product_id="LY-SR-003",
        chat_id=CHAT,
        starter_id="alice",
        size=size,
        price=Decimal("199.00"),
        deadline=NOW + timedelta(hours=hours),
        now=NOW,
    )


def test_sql_group_buys_implement_the_interface(promotions: SqlPromotions) -> None:
    assert isinstance(promotions.group_buys, GroupBuyService)


def test_starter_counts_and_the_last_seat_forms_the_group_buy(promotions: SqlPromotions) -> None:
    group_buys = promotions.group_buys
    started = start(promotions)
    assert (started.status, started.members, started.seats_left) == ("open", ("alice",), 2)
    assert group_buys.open_in_chat(CHAT, NOW) == [started]

    bob = group_buys.join(started.group_buy_id, "bob", NOW + timedelta(minutes=5))
    carol = group_buys.join(started.group_buy_id.lower(), "carol", NOW + timedelta(minutes=9))

    assert bob.status is JoinStatus.JOINED and bob.group_buy is not None
    assert bob.group_buy.seats_left == 1
    assert carol.status is JoinStatus.FORMED and carol.ok
    formed = group_buys.get(started.group_buy_id)
    assert formed is not None
    assert (formed.status, formed.members) == ("formed", ("alice", "bob", "carol"))
    assert formed.closed_at == NOW + timedelta(minutes=9)
    assert group_buys.open_in_chat(CHAT, NOW) == []


def test_joining_twice_late_or_into_a_full_group_is_refused(promotions: SqlPromotions) -> None:
    group_buys = promotions.group_buys
    pair = start(promotions, size=2)
    solo = start(promotions, hours=1)

    assert group_buys.join(pair.group_buy_id, "alice", NOW).status is JoinStatus.ALREADY_JOINED
    assert group_buys.join(pair.group_buy_id, "bob", NOW).status is JoinStatus.FORMED
    assert group_buys.join(pair.group_buy_id, "carol", NOW).status is JoinStatus.FULL
    late = group_buys.join(solo.group_buy_id, "dave", NOW + timedelta(hours=1))
    assert late.status is JoinStatus.EXPIRED
    assert group_buys.join("NOSUCHID", "erin", NOW).status is JoinStatus.UNKNOWN_GROUP_BUY


def test_deadline_without_enough_people_fails_and_is_announced_once(
    promotions: SqlPromotions,
) -> None:
    group_buys = promotions.group_buys
    short = start(promotions, hours=2)
    group_buys.join(short.group_buy_id, "bob", NOW)
    formed = start(promotions, size=2, hours=2)
    group_buys.join(formed.group_buy_id, "carol", NOW + timedelta(minutes=1))
    still_open = start(promotions, hours=48)

    assert [e.kind for e in group_buys.expire_due(NOW + timedelta(hours=1))] == ["formed"]
    events = group_buys.expire_due(NOW + timedelta(hours=2))

    assert len(events) == 1
    (failed,) = events
    assert (failed.kind, failed.group_buy_id, failed.chat_id) == (
        "failed",
        short.group_buy_id,
        CHAT,
    )
    assert failed.members == ("alice", "bob")
    assert failed.at == NOW + timedelta(hours=2)
    assert group_buys.expire_due(NOW + timedelta(hours=3)) == []
    loaded = group_buys.get(short.group_buy_id)
    assert loaded is not None and loaded.status == "failed"
    reopened = group_buys.get(still_open.group_buy_id)
    assert reopened is not None and reopened.status == "open"


def test_formed_event_carries_what_the_group_needs_to_hear(promotions: SqlPromotions) -> None:
    group_buys = promotions.group_buys
    started = start(promotions, size=2)
    group_buys.join(started.group_buy_id, "bob", NOW + timedelta(minutes=3))

    (event,) = group_buys.expire_due(NOW + timedelta(minutes=4))

    assert event.kind == "formed"
    assert (event.chat_id, event.product_id, event.price) == (CHAT, "LY-SR-003", Decimal("199"))
    assert event.members == ("alice", "bob")
    assert event.at == NOW + timedelta(minutes=3)


def test_many_shoppers_joining_a_three_person_group_at_once(
    promotions_factory: PromotionsFactory,
) -> None:
    instances = [promotions_factory(), promotions_factory()]
    started = start(instances[0])

    results = race(
        30, lambda n: instances[n % 2].group_buys.join(started.group_buy_id, f"s{n}", NOW)
    )

    statuses = Counter(r.status for r in results)
    assert statuses == {JoinStatus.JOINED: 1, JoinStatus.FORMED: 1, JoinStatus.FULL: 28}
    loaded = instances[1].group_buys.get(started.group_buy_id)
    assert loaded is not None and loaded.status == "formed" and len(loaded.members) == 3
    winners = {r.group_buy.members[-1] for r in results if r.ok}  # type: ignore[union-attr]
    assert set(loaded.members) == {"alice"} | winners
    # Two instances expiring at the same moment still announce it once.
    announced = race(4, lambda n: instances[n % 2].group_buys.expire_due(NOW))
    assert [len(events) for events in announced].count(1) == 1
    assert sum(len(events) for events in announced) == 1


def test_one_shopper_tapping_join_many_times_at_once_takes_one_seat(
    promotions_factory: PromotionsFactory,
) -> None:
    instances = [promotions_factory(), promotions_factory()]
    started = start(instances[0], size=5)

    results = race(10, lambda n: instances[n % 2].group_buys.join(started.group_buy_id, "bob", NOW))

    assert Counter(r.status for r in results) == {
        JoinStatus.JOINED: 1,
        JoinStatus.ALREADY_JOINED: 9,
    }
    loaded = instances[0].group_buys.get(started.group_buy_id)
    assert loaded is not None and loaded.members == ("alice", "bob")


def test_last_join_racing_the_deadline_either_forms_or_fails_never_both(
    promotions_factory: PromotionsFactory,
) -> None:
    instances = [promotions_factory(), promotions_factory()]
    started = start(instances[0], size=2, hours=1)
    just_before = NOW + timedelta(hours=1) - timedelta(microseconds=1)

    def act(n: int) -> object:
        if n == 0:
            return instances[0].group_buys.join(started.group_buy_id, "bob", just_before)
        return instances[1].group_buys.expire_due(NOW + timedelta(hours=1))

    raced = race(2, act)
    events = [*raced[1], *instances[0].group_buys.expire_due(NOW + timedelta(hours=2))]  # type: ignore[misc]
    loaded = instances[0].group_buys.get(started.group_buy_id)

    assert loaded is not None and loaded.status in ("formed", "failed")
    assert len(loaded.members) == (2 if loaded.status == "formed" else 1)
    assert [event.kind for event in events] == [loaded.status]


def test_starting_needs_two_people_and_a_future_deadline(promotions: SqlPromotions) -> None:
    with pytest.raises(ValueError, match="size"):
        start(promotions, size=1)
    with pytest.raises(ValueError, match="deadline"):
        start(promotions, hours=0)


def test_the_forming_reply_and_racing_sweepers_announce_an_outcome_once(
    promotions_factory: PromotionsFactory,
) -> None:
    instances = [promotions_factory() for _ in range(4)]
    started = start(instances[0], size=2)
    instances[0].group_buys.join(started.group_buy_id, "bob", NOW)
    open_one = start(instances[0])

    # The join's reply and three sweepers race to tell the group it formed.
    told = race(
        4,
        lambda n: (
            instances[n].group_buys.claim_announcement(started.group_buy_id)
            if n == 0
            else len(instances[n].group_buys.expire_due(NOW))
        ),
    )

    assert sum(int(t) for t in told) == 1
    assert instances[0].group_buys.claim_announcement(open_one.group_buy_id) is False  # open
