"""Ticket stores on real SQLite and PostgreSQL, and a clock the tests can move."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from assistant.aftersales.store import SqlTickets
from tests.commerce.conftest import postgres_url  # noqa: F401 - the shared PostgreSQL fixture
from tests.commerce.factories import FakeClock

TicketsFactory = Callable[..., SqlTickets]


@pytest.fixture
def clock() -> FakeClock:
    # 2026-11-26 10:00 China time: ticket ids of this day read SH20261126nnn.
    return FakeClock(datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc))


@pytest.fixture(params=["sqlite", "postgres"])
def tickets_factory(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[TicketsFactory]:
    """Stores on one database (each call a new instance, as another app process would be);
    on PostgreSQL in a schema of this test's own, dropped after."""
    schema = None
    url = f"sqlite:///{tmp_path / 'commerce.db'}"
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        schema = f"siyu_tickets_test_{uuid.uuid4().hex[:12]}"
    made: list[SqlTickets] = []

    def make(**kwargs: Any) -> SqlTickets:
        kwargs.setdefault("clock", clock)
        made.append(SqlTickets(url, tmp_path / "tickets", schema_name=schema, **kwargs))
        return made[-1]

    yield make
    for store in made:
        store.close()
    if schema is not None:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def tickets(tickets_factory: TicketsFactory) -> SqlTickets:
    return tickets_factory()
