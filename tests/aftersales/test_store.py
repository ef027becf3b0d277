"""The ticket store on SQLite and PostgreSQL: ids staff can read out, one open claim per order,
a status workflow with history, and photos kept as checked image files."""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from assistant.aftersales.photos import MAX_PHOTOS_PER_TICKET, PhotoRejected
from assistant.aftersales.store import (
    BadTransition,
    OpenTicketExists,
    SqlTickets,
    UnknownTicket,
)
from tests.aftersales.conftest import TicketsFactory
from tests.aftersales.images import JPEG, PDF, png
from tests.commerce.factories import FakeClock


def _create(tickets: SqlTickets, order_id: str, person: str = "web:u1", kind: str = "return"):
    return tickets.create(
        order_id=order_id,
        person=person,
        conversation_id=f"web:g1:{person.split(':')[1]}",
        kind=kind,
        reason="不想要了",
    )


def test_ticket_ids_are_the_china_day_and_a_sequence(tickets: SqlTickets, clock: FakeClock) -> None:
    first = _create(tickets, "DD1")
    second = _create(tickets, "DD2")
    assert (first.ticket_id, second.ticket_id) == ("SH20261126001", "SH20261126002")
    assert first.status == "submitted" and first.is_open
    # 16:30 UTC is already the next day in China: a new day starts a new sequence.
    clock.advance(timedelta(hours=14, minutes=30))
    assert _create(tickets, "DD3").ticket_id == "SH20261127001"


def test_one_open_ticket_per_order_until_it_is_closed(tickets: SqlTickets) -> None:
    first = _create(tickets, "DD1")
    with pytest.raises(OpenTicketExists) as clash:
        _create(tickets, "DD1", person="web:u2")
    assert clash.value.ticket.ticket_id == first.ticket_id
    tickets.set_status(first.ticket_id, "rejected", actor="anna", note="已拆封")
    again = _create(tickets, "DD1")
    assert again.ticket_id != first.ticket_id and again.is_open


def test_parallel_creations_never_share_an_id(tickets_factory: TicketsFactory) -> None:
    # Separate instances, as separate app processes would be, writing at the same moment.
    stores = [tickets_factory() for _ in range(4)]

    def create(n: int) -> str:
        return _create(stores[n % 4], f"DD{n:04d}", person=f"web:u{n}").ticket_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(24)))
    assert len(set(ids)) == 24
    assert sorted(ids) == [f"SH20261126{n:03d}" for n in range(1, 25)]


def test_parallel_requests_for_one_order_make_one_ticket(tickets_factory: TicketsFactory) -> None:
    stores = [tickets_factory() for _ in range(4)]

    def create(n: int) -> str:
        try:
            return "created:" + _create(stores[n % 4], "DD-SAME", person=f"web:u{n}").ticket_id
        except OpenTicketExists as exists:
            return "exists:" + exists.ticket.ticket_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(create, range(12)))
    created = [o for o in outcomes if o.startswith("created:")]
    assert len(created) == 1
    winner = created[0].split(":")[1]
    assert all(o.split(":")[1] == winner for o in outcomes)


def test_status_workflow_keeps_who_when_and_why(tickets: SqlTickets, clock: FakeClock) -> None:
    ticket = _create(tickets, "DD1")
    clock.advance(timedelta(hours=1))
    tickets.set_status(ticket.ticket_id, "reviewing", actor="anna", note="正在核对照片")
    tickets.set_status(ticket.ticket_id, "approved", actor="anna", note="请寄回商品")
    closed = tickets.set_status(ticket.ticket_id, "closed", actor="ben")
    assert closed.status == "closed" and not closed.is_open
    assert closed.updated_at == clock.now
    history = tickets.history(ticket.ticket_id)
    assert [(h.status, h.actor) for h in history] == [
        ("submitted", "shopper"),
        ("reviewing", "anna"),
        ("approved", "anna"),
        ("closed", "ben"),
    ]
    assert history[1].note == "正在核对照片" and history[1].at > history[0].at


def test_moves_the_workflow_does_not_allow_are_refused(tickets: SqlTickets) -> None:
    ticket = _create(tickets, "DD1")
    with pytest.raises(BadTransition, match="submitted"):
        tickets.set_status(ticket.ticket_id, "approved", actor="anna")
    tickets.set_status(ticket.ticket_id, "closed", actor="anna")
    with pytest.raises(BadTransition):
        tickets.set_status(ticket.ticket_id, "reviewing", actor="anna")
    with pytest.raises(BadTransition, match="must be one of"):
        tickets.set_status(ticket.ticket_id, "lost", actor="anna")
    with pytest.raises(UnknownTicket):
        tickets.set_status("SH20990101001", "reviewing", actor="anna")
    assert tickets.get(ticket.ticket_id).status == "closed"
    assert len(tickets.history(ticket.ticket_id)) == 2


def test_latest_ticket_is_per_person(tickets: SqlTickets, clock: FakeClock) -> None:
    mine = _create(tickets, "DD1", person="web:u1")
    clock.advance(timedelta(minutes=5))
    theirs = _create(tickets, "DD2", person="web:u2")
    assert tickets.latest_for("web:u1") == mine
    assert tickets.latest_for("web:u2") == theirs
    tickets.set_status(mine.ticket_id, "closed", actor="anna")
    assert tickets.latest_for("web:u1", open_only=True) is None
    assert tickets.latest_for("web:u1").ticket_id == mine.ticket_id
    assert [t.ticket_id for t in tickets.list(status="closed")] == [mine.ticket_id]


def test_photos_are_stored_as_files_with_their_hash(tickets: SqlTickets) -> None:
    ticket = _create(tickets, "DD1")
    photo, new = tickets.add_photo(ticket.ticket_id, JPEG, source="telegram")
    assert new
    path = tickets.photo_path(photo)
    assert path.parent == tickets.folder / ticket.ticket_id
    assert path.read_bytes() == JPEG
    assert photo.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert (photo.content_type, photo.size, photo.source) == ("image/jpeg", len(JPEG), "telegram")
    # The same picture sent again is kept once.
    again, new_again = tickets.add_photo(ticket.ticket_id, JPEG, source="telegram")
    assert not new_again and again.photo_id == photo.photo_id
    assert len(tickets.photos(ticket.ticket_id)) == 1


def test_non_images_and_oversized_files_are_refused_and_nothing_is_written(
    tickets_factory: TicketsFactory,
) -> None:
    tickets = tickets_factory(max_photo_bytes=64)
    ticket = _create(tickets, "DD1")
    with pytest.raises(PhotoRejected) as not_image:
        tickets.add_photo(ticket.ticket_id, PDF, source="web")
    assert not_image.value.code == "photo_not_image"
    with pytest.raises(PhotoRejected) as too_large:
        tickets.add_photo(ticket.ticket_id, png() + b"\0" * 100, source="web")
    assert too_large.value.code == "photo_too_large"
    assert tickets.photos(ticket.ticket_id) == []
    assert not (tickets.folder / ticket.ticket_id).exists()


def test_a_ticket_takes_a_limited_number_of_photos(tickets: SqlTickets) -> None:
    ticket = _create(tickets, "DD1")
    for n in range(MAX_PHOTOS_PER_TICKET):
        tickets.add_photo(ticket.ticket_id, png(n), source="line")
    with pytest.raises(PhotoRejected) as limit:
        tickets.add_photo(ticket.ticket_id, png(99), source="line")
    assert limit.value.code == "photo_limit"
    names = sorted(p.path for p in tickets.photos(ticket.ticket_id))
    assert len(names) == MAX_PHOTOS_PER_TICKET
    assert all(re.fullmatch(rf"{ticket.ticket_id}/[0-9a-f]{{20}}\.png", n) for n in names)


def test_photos_for_an_unknown_ticket_are_refused(tickets: SqlTickets) -> None:
    with pytest.raises(UnknownTicket):
        tickets.add_photo("SH20990101001", JPEG, source="web")
