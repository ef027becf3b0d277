"""Handoff requests as analytics reads them: when each was opened, first answered and closed.

The handoff table belongs to the commerce store (``commerce_handoff_requests``) and grows
columns as the staff queue does (claimed / first reply / closed times). It is read by
reflection, so reports work with whichever of those columns the database has today, and
report "unknown" for times it does not keep rather than failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.engine import Connection

HANDOFF_TABLE = "commerce_handoff_requests"
# The first of these columns present is "staff first replied" / "closed".
FIRST_REPLY_COLUMNS = ("answered_at", "first_reply_at", "first_staff_reply_at", "claimed_at")
CLOSED_COLUMNS = ("closed_at", "resolved_at")


@dataclass(frozen=True)
class Handoff:
    """One shopper's request for a person, with the times analytics needs."""

    conversation_id: str
    opened_at: datetime
    first_reply_at: datetime | None
    closed_at: datetime | None

    def minutes_to_first_reply(self) -> float | None:
        return _minutes(self.opened_at, self.first_reply_at)

    def minutes_to_close(self) -> float | None:
        return _minutes(self.opened_at, self.closed_at)


def read_handoffs(
    conn: Connection, start: datetime, end: datetime, schema: str | None = None
) -> list[Handoff]:
    """Handoffs opened in ``[start, end)`` (UTC); none when the table does not exist yet."""
    if HANDOFF_TABLE not in set(inspect(conn).get_table_names(schema=schema)):
        return []
    table = Table(HANDOFF_TABLE, MetaData(), autoload_with=conn, schema=schema)
    columns = table.c
    if "created_at" not in columns or "conversation_id" not in columns:
        return []
    first = next((columns[c] for c in FIRST_REPLY_COLUMNS if c in columns), None)
    closed = next((columns[c] for c in CLOSED_COLUMNS if c in columns), None)
    wanted = [columns.conversation_id, columns.created_at]
    wanted += [c for c in (first, closed) if c is not None]
    # SQLite keeps these naive (UTC); compare against naive UTC there.
    naive = conn.dialect.name == "sqlite"
    low, high = (_plain(start), _plain(end)) if naive else (start, end)
    rows = conn.execute(
        select(*wanted).where(columns.created_at >= low).where(columns.created_at < high)
    ).all()
    found = []
    for row in rows:
        data = row._mapping
        opened = _utc(data[columns.created_at])
        if opened is None:
            continue
        found.append(
            Handoff(
                conversation_id=str(data[columns.conversation_id]),
                opened_at=opened,
                first_reply_at=_utc(data[first]) if first is not None else None,
                closed_at=_utc(data[closed]) if closed is not None else None,
            )
        )
    return found


def _plain(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _utc(value: Any) -> datetime | None:
    """A stored time as aware UTC; SQLite may hand back naive datetimes or ISO strings."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _minutes(start: datetime, end: datetime | None) -> float | None:
    if end is None or end < start:
        return None
    return (end - start).total_seconds() / 60
