"""Shoppers who ask for a person land in the staff queue once each, oldest first."""

from __future__ import annotations

import threading
from datetime import timedelta

from tests.commerce.conftest import StoreFactory
from tests.commerce.factories import FakeClock


def test_request_is_recorded_with_what_staff_need(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    store = store_factory(clock=clock)
    request = store.request_handoff(
        "wecom:group-8:user-42", reason="asked_for_human", language="zh", text="我要转人工"
    )

    assert request.status == "open"
    assert request.created_at == clock.now
    assert store.open_handoffs() == [request]
    (listed,) = store.open_handoffs()
    assert (listed.conversation_id, listed.language, listed.reason, listed.text) == (
        "wecom:group-8:user-42",
        "zh",
        "asked_for_human",
        "我要转人工",
    )


def test_asking_again_does_not_queue_the_shopper_twice(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    store = store_factory(clock=clock)
    first = store.request_handoff("tg:1:7", reason="asked_for_human", language="en", text="human")
    clock.advance(timedelta(minutes=2))
    again = store.request_handoff("tg:1:7", reason="complaint", language="en", text="hello??")

    assert again == first
    assert store.open_handoffs() == [first]


def test_queue_lists_oldest_first_and_closed_requests_leave_it(
    store_factory: StoreFactory, clock: FakeClock
) -> None:
    store = store_factory(clock=clock)
    ids = []
    for user in ("a", "b", "c"):
        ids.append(
            store.request_handoff(f"web:g:{user}", reason="r", language="zh", text="人工").id
        )
        clock.advance(timedelta(seconds=30))

    assert [r.conversation_id for r in store.open_handoffs()] == ["web:g:a", "web:g:b", "web:g:c"]
    assert store.close_handoff(ids[0]) is True
    assert store.close_handoff(ids[0]) is False
    assert [r.conversation_id for r in store.open_handoffs()] == ["web:g:b", "web:g:c"]

    # Once staff are done, the same shopper can ask again and is queued anew, at the back.
    renewed = store.request_handoff("web:g:a", reason="r", language="zh", text="还是不行")
    assert renewed.id not in ids
    assert store.open_handoffs()[-1] == renewed


def test_requests_survive_a_restart(store_factory: StoreFactory) -> None:
    request = store_factory().request_handoff("line:g:u", reason="r", language="en", text="agent")
    assert store_factory().open_handoffs() == [request]


def test_simultaneous_requests_from_one_shopper_queue_one_entry(
    store_factory: StoreFactory,
) -> None:
    # Two app instances (two store objects) answering the same shopper at the same moment.
    stores = [store_factory(), store_factory()]
    stores[0].open_handoffs()  # create the tables before the race
    results = []
    barrier = threading.Barrier(8)

    def ask(n: int) -> None:
        barrier.wait()
        results.append(
            stores[n % 2].request_handoff("dingtalk:g:u", reason="r", language="zh", text="人工")
        )

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 8
    assert len({r.id for r in results}) == 1
    assert len(stores[0].open_handoffs()) == 1
