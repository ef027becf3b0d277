"""Orders survive the database exactly as stored, on SQLite files and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from assistant.commerce.interfaces import HandoffStore, OrderStore
from assistant.commerce.models import LogisticsEvent
from assistant.commerce.sql import SqlCommerce
from tests.commerce.conftest import StoreFactory
from tests.commerce.factories import make_order


def test_store_implements_both_interfaces(store: SqlCommerce) -> None:
    assert isinstance(store, OrderStore)
    assert isinstance(store, HandoffStore)


def test_order_round_trips_with_items_events_money_and_times(store: SqlCommerce) -> None:
    order = make_order(opened=True)
    store.add_orders([order])

    loaded = store.get_order(order.order_id)

    assert loaded == order
    assert loaded is not None
    assert loaded.phone == "13912343821"
    assert [item.product_id for item in loaded.items] == ["LY-SR-003", "LY-MK-006"]
    assert loaded.items[1].unit_price == Decimal("0.10")
    assert loaded.total == Decimal("239.30")
    assert [event.status for event in loaded.events] == ["collected", "arrived", "delivered"]
    assert loaded.latest_event == order.events[-1]
    # Times come back in UTC to the microsecond, whatever zone they were written in.
    assert loaded.created_at == order.created_at
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at.microsecond == 123456
    assert loaded.opened is True


def test_unknown_order_is_none_and_count_tracks_distinct_orders(store: SqlCommerce) -> None:
    assert store.get_order("DD202511180042") is None
    assert store.count_orders() == 0
    store.add_orders([make_order("DD202511180042"), make_order("DD202511180043")])
    store.add_orders([])
    assert store.count_orders() == 2
    assert store.get_order("DD202511189999") is None


def test_adding_an_order_again_replaces_status_items_and_events(store: SqlCommerce) -> None:
    in_transit = make_order(status="shipped", delivered_at=None)
    store.add_orders([in_transit])
    delivered = replace(
        make_order(),
        items=make_order().items[:1],
        total=Decimal("239.00"),
    )
    store.add_orders([delivered])

    loaded = store.get_order(delivered.order_id)
    assert store.count_orders() == 1
    assert loaded == delivered
    assert loaded is not None and loaded.status == "delivered"
    assert len(loaded.items) == 1


def test_sqlite_file_is_created_in_a_new_folder_uses_wal_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "var" / "nested" / "commerce.db"
    first = SqlCommerce(f"sqlite:///{path}")
    first.add_orders([make_order()])
    first.close()

    second = SqlCommerce(f"sqlite:///{path}")
    assert second.get_order("DD202511180042") == make_order()
    second.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_many_threads_can_write_and_read_at_once(store_factory: StoreFactory) -> None:
    store = store_factory()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(10):
                order_id = f"DD20251118{worker:02d}{n:02d}"
                base = make_order(order_id)
                scan = LogisticsEvent(
                    base.events[-1].time + timedelta(minutes=n),
                    "delivered",
                    "已签收",
                    "Delivered",
                    "成都",
                )
                store.add_orders([replace(base, events=(*base.events[:-1], scan))])
                assert store.get_order(order_id) is not None
                store.count_orders()
            store.request_handoff(f"wecom:g1:u{worker}", reason="human", language="zh", text="人工")
        except BaseException as exc:  # collected so the main thread can fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert store.count_orders() == 80
    assert len(store.open_handoffs()) == 8


def test_simultaneous_updates_of_one_order_leave_one_whole_version(
    store_factory: StoreFactory,
) -> None:
    # Two order-system syncs pushing the same order while a shopper reads it.
    stores = [store_factory(), store_factory()]
    stores[0].count_orders()
    versions = [
        replace(make_order(), items=make_order().items[: 1 + n % 2], total=Decimal(100 + n))
        for n in range(6)
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(versions))

    def push(n: int) -> None:
        try:
            barrier.wait()
            stores[n % 2].add_orders([versions[n]])
            loaded = stores[(n + 1) % 2].get_order("DD202511180042")
            assert loaded in versions
        except BaseException as exc:  # collected so the main thread can fail the test
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(len(versions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert stores[0].count_orders() == 1
    assert stores[0].get_order("DD202511180042") in versions
