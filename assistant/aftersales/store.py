"""After-sales tickets in SQL: readable ids, one open ticket per order, status history, photos.

``SqlTickets(url, folder)`` keeps rows in the commerce database (SQLite file by default,
PostgreSQL by URL) and photo files under ``folder/<ticket id>/``. Ids read ``SH20261126001``:
the China-time day and a per-day sequence drawn from a counter row that writers update one
at a time, so parallel creations never share an id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, get_args

from sqlalchemy import Table, select, update

from assistant.aftersales import schema
from assistant.aftersales.photos import (
    MAX_PHOTO_BYTES,
    MAX_PHOTOS_PER_TICKET,
    PhotoRejected,
    check_photo,
    write_photo,
)
from assistant.commerce.models import CHINA_TIME
from assistant.commerce.sql_engine import SqlDatabase, insert_if_absent

TicketKind = Literal["return", "exchange", "quality"]
TicketStatus = Literal["submitted", "reviewing", "approved", "rejected", "closed"]
KINDS: Final[tuple[str, ...]] = get_args(TicketKind)
STATUSES: Final[tuple[str, ...]] = get_args(TicketStatus)
# A ticket is open until staff reject or close it; an order has at most one open ticket.
OPEN_STATUSES: Final = frozenset({"submitted", "reviewing", "approved"})
# Where staff may move a ticket from each status.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "submitted": frozenset({"reviewing", "rejected", "closed"}),
    "reviewing": frozenset({"approved", "rejected", "closed"}),
    "approved": frozenset({"closed"}),
    "rejected": frozenset({"closed"}),
    "closed": frozenset(),
}
SHOPPER: Final = "shopper"
Row = TypeVar("Row")
MAX_REASON_CHARS: Final = 2000


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Ticket:
    """One return, exchange or quality claim for one order."""

    ticket_id: str
    order_id: str
    person: str  # platform:user_id, the same person in every group
    conversation_id: str
    kind: str
    reason: str
    status: str
    created_at: datetime
    updated_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class HistoryEntry:
    """One status a ticket took: who set it, when, and their note."""

    status: str
    actor: str
    note: str
    at: datetime


@dataclass(frozen=True)
class Photo:
    """A stored photo of a ticket; ``path`` is relative to the tickets folder."""

    photo_id: int
    ticket_id: str
    sha256: str
    content_type: str
    size: int
    path: str
    source: str
    created_at: datetime


class UnknownTicket(LookupError):
    """No ticket has that id."""

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"no after-sales ticket {ticket_id}")
        self.ticket_id = ticket_id


class OpenTicketExists(Exception):
    """The order already has an open ticket (``ticket``): one claim at a time per order."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(f"order {ticket.order_id} already has open ticket {ticket.ticket_id}")
        self.ticket = ticket


class BadTransition(ValueError):
    """A status change the workflow does not allow (e.g. closed back to reviewing)."""


class _Clash(Exception):
    """Raised inside a write to roll it back when another writer won the order's open slot."""


class SqlTickets:
    """The ticket store; one instance may be shared by threads."""

    def __init__(
        self,
        url: str,
        folder: Path,
        *,
        schema_name: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
        max_photo_bytes: int = MAX_PHOTO_BYTES,
    ) -> None:
        self.database = SqlDatabase(url, [schema.metadata], schema=schema_name)
        self.folder = Path(folder)
        self.max_photo_bytes = max_photo_bytes
        self._clock = clock

    # ------------------------------------------------------------------ tickets
    def create(
        self,
        *,
        order_id: str,
        person: str,
        conversation_id: str,
        kind: str,
        reason: str,
    ) -> Ticket:
        """A new ticket in ``submitted``, or :class:`OpenTicketExists` for this order."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        now = self._clock()
        reason = reason.strip()[:MAX_REASON_CHARS]
        try:
            with self.database.write() as conn:
                existing = self._open_for(conn, order_id)
                if existing is not None:
                    raise OpenTicketExists(existing)
                ticket_id = self._next_id(conn, now)
                values = {
                    "ticket_id": ticket_id,
                    "order_id": order_id,
                    "open_order_id": order_id,
                    "person": person,
                    "conversation_id": conversation_id,
                    "kind": kind,
                    "reason": reason,
                    "status": "submitted",
                    "created_at": now,
                    "updated_at": now,
                }
                if not insert_if_absent(conn, schema.tickets, values):
                    raise _Clash
                self._log(conn, ticket_id, "submitted", SHOPPER, reason, now)
        except _Clash:
            with self.database.read() as conn:
                winner = self._open_for(conn, order_id)
            if winner is None:  # closed again in between: vanishingly rare, let them retry
                raise
            raise OpenTicketExists(winner) from None
        return self.get(ticket_id)

    def get(self, ticket_id: str) -> Ticket:
        with self.database.read() as conn:
            row = conn.execute(
                select(schema.tickets).where(schema.tickets.c.ticket_id == ticket_id)
            ).first()
        if row is None:
            raise UnknownTicket(ticket_id)
        return _ticket(row)

    def find(self, ticket_id: str) -> Ticket | None:
        try:
            return self.get(ticket_id)
        except UnknownTicket:
            return None

    def open_for_order(self, order_id: str) -> Ticket | None:
        with self.database.read() as conn:
            return self._open_for(conn, order_id)

    def latest_for(self, person: str, *, open_only: bool = False) -> Ticket | None:
        """The person's newest ticket (their newest open one with ``open_only``)."""
        query = select(schema.tickets).where(schema.tickets.c.person == person)
        if open_only:
            query = query.where(schema.tickets.c.status.in_(sorted(OPEN_STATUSES)))
        query = query.order_by(
            schema.tickets.c.created_at.desc(), schema.tickets.c.ticket_id.desc()
        ).limit(1)
        with self.database.read() as conn:
            row = conn.execute(query).first()
        return _ticket(row) if row is not None else None

    def list(self, *, status: str | None = None, limit: int = 50, offset: int = 0) -> list[Ticket]:
        """Newest first, optionally only those in ``status``."""
        query = select(schema.tickets)
        if status is not None:
            query = query.where(schema.tickets.c.status == status)
        query = query.order_by(
            schema.tickets.c.created_at.desc(), schema.tickets.c.ticket_id.desc()
        )
        with self.database.read() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [_ticket(row) for row in rows]

    def history(self, ticket_id: str) -> list[HistoryEntry]:
        return [_from_row(HistoryEntry, r) for r in self._rows_of(schema.history, ticket_id)]

    def set_status(self, ticket_id: str, status: str, *, actor: str, note: str = "") -> Ticket:
        """Move the ticket to ``status`` (see :data:`TRANSITIONS`) and record who and why."""
        if status not in STATUSES:
            raise BadTransition(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        now = self._clock()
        table = schema.tickets
        with self.database.write() as conn:
            row = conn.execute(select(table).where(table.c.ticket_id == ticket_id)).first()
            if row is None:
                raise UnknownTicket(ticket_id)
            if status not in TRANSITIONS[row.status]:
                allowed = ", ".join(sorted(TRANSITIONS[row.status])) or "nothing"
                raise BadTransition(
                    f"ticket {ticket_id} is {row.status}; it can move to {allowed}, not {status}"
                )
            # Conditional on the status read: a concurrent change makes this one fail cleanly.
            changed = conn.execute(
                update(table)
                .where(table.c.ticket_id == ticket_id, table.c.status == row.status)
                .values(
                    status=status,
                    updated_at=now,
                    open_order_id=row.order_id if status in OPEN_STATUSES else None,
                )
            ).rowcount
            if changed != 1:
                raise BadTransition(f"ticket {ticket_id} changed meanwhile; reload and retry")
            self._log(conn, ticket_id, status, actor, note.strip()[:MAX_REASON_CHARS], now)
        return self.get(ticket_id)

    # ------------------------------------------------------------------ photos
    def add_photo(self, ticket_id: str, data: bytes, *, source: str) -> tuple[Photo, bool]:
        """Keep an image with the ticket; returns the photo and whether it is new (the same
        picture sent twice is kept once). Raises :class:`PhotoRejected` for non-images, files
        over the size limit, or a ticket that already has its maximum of photos."""
        checked = check_photo(data, max_bytes=self.max_photo_bytes)
        self.get(ticket_id)  # UnknownTicket before anything is written
        kept = self._photo_by_hash(ticket_id, checked.sha256)
        if kept is not None:
            return kept, False
        if len(self.photos(ticket_id)) >= MAX_PHOTOS_PER_TICKET:
            raise PhotoRejected(
                "photo_limit", f"ticket {ticket_id} already has {MAX_PHOTOS_PER_TICKET} photos"
            )
        name = f"{checked.sha256[:20]}.{checked.extension}"
        # The file first: a row never points at a missing file.
        write_photo(self.folder / ticket_id, name, checked)
        with self.database.write() as conn:
            insert_if_absent(
                conn,
                schema.photos,
                {
                    "ticket_id": ticket_id,
                    "sha256": checked.sha256,
                    "content_type": checked.content_type,
                    "size": checked.size,
                    "path": f"{ticket_id}/{name}",
                    "source": source,
                    "created_at": self._clock(),
                },
            )
        photo = self._photo_by_hash(ticket_id, checked.sha256)
        assert photo is not None  # just written (or by a racing writer of the same bytes)
        return photo, True

    def photos(self, ticket_id: str) -> list[Photo]:
        return [_photo(row) for row in self._rows_of(schema.photos, ticket_id)]

    def photo_path(self, photo: Photo) -> Path:
        """Where the photo's file is on disk."""
        return self.folder / photo.path

    def close(self) -> None:
        self.database.close()

    # ------------------------------------------------------------------ internals
    def _rows_of(self, table: Table, ticket_id: str) -> list[Any]:
        """A ticket's rows of ``table`` (history, photos) in the order they were added."""
        query = select(table).where(table.c.ticket_id == ticket_id).order_by(table.c.id)
        with self.database.read() as conn:
            return list(conn.execute(query).all())

    def _photo_by_hash(self, ticket_id: str, sha256: str) -> Photo | None:
        table = schema.photos
        with self.database.read() as conn:
            row = conn.execute(
                select(table).where(table.c.ticket_id == ticket_id, table.c.sha256 == sha256)
            ).first()
        return _photo(row) if row is not None else None

    @staticmethod
    def _open_for(conn: Any, order_id: str) -> Ticket | None:
        row = conn.execute(
            select(schema.tickets).where(schema.tickets.c.open_order_id == order_id)
        ).first()
        return _ticket(row) if row is not None else None

    @staticmethod
    def _next_id(conn: Any, now: datetime) -> str:
        """``SH<day><seq>``: the counter row is locked by the UPDATE until this write ends."""
        day = now.astimezone(CHINA_TIME).strftime("%Y%m%d")
        insert_if_absent(conn, schema.counters, {"day": day, "last": 0})
        table = schema.counters
        seq = conn.execute(
            update(table)
            .where(table.c.day == day)
            .values(last=table.c.last + 1)
            .returning(table.c.last)
        ).scalar_one()
        return f"SH{day}{seq:03d}"

    @staticmethod
    def _log(conn: Any, ticket_id: str, status: str, actor: str, note: str, at: datetime) -> None:
        conn.execute(
            schema.history.insert().values(
                ticket_id=ticket_id, status=status, actor=actor, note=note, at=at
            )
        )


def _from_row(kind: type[Row], row: Any, **columns: str) -> Row:
    """A dataclass from a row: each field from the column of its name (or ``columns[field]``)."""
    mapping = row._mapping
    return kind(**{f.name: mapping[columns.get(f.name, f.name)] for f in fields(kind)})


def _ticket(row: Any) -> Ticket:
    return _from_row(Ticket, row)


def _photo(row: Any) -> Photo:
    return _from_row(Photo, row, photo_id="id")
